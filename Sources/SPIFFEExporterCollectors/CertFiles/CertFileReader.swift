import Foundation
import SPIFFEExporterCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads certificate files defensively: symlinks are followed (spiffe-helper directories and
/// Kubernetes `..data` volumes use them legitimately) but a loop ends in ELOOP (`symlink_loop`);
/// the size is checked with `fstat` before any byte is read, so a huge file costs nothing; FIFOs
/// and devices are opened non-blocking and refused (`not_regular_file`), so nothing can hang.
/// Blocking calls: run these off the Swift concurrency pool.
public enum CertFileReader {
    /// Metadata of `path` after following symlinks.
    public struct Status: Sendable, Hashable {
        public var stamp: FileStamp
        public var isRegularFile: Bool
        public var isDirectory: Bool
    }

    public static func status(_ path: String) -> Result<Status, CertFileLoadReason> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(CertFileLoadReason.classify(errno: errno)) }
        return .success(status(info))
    }

    static func status(_ info: stat) -> Status {
        let type = info.st_mode & S_IFMT
        return Status(
            stamp: FileStamp(
                device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)),
            isRegularFile: type == S_IFREG, isDirectory: type == S_IFDIR)
    }

    /// The whole content of a regular file of at most `maxSize` bytes, with its stamp as `fstat`
    /// saw it before reading. A file that grows past `maxSize` while being read is refused too.
    public static func read(
        _ path: String, maxSize: Int
    ) -> Result<(stamp: FileStamp, bytes: [UInt8]), CertFileLoadReason> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return .failure(CertFileLoadReason.classify(errno: errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(CertFileLoadReason.classify(errno: errno)) }
        let status = status(info)
        guard status.isRegularFile else { return .failure(.notRegularFile) }
        guard status.stamp.size <= Int64(maxSize) else { return .failure(.fileTooLarge) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(status.stamp.size))
        let chunkSize = 64 * 1024
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in posixRead(fd, raw.baseAddress, chunkSize) }
            if count < 0 {
                if errno == EINTR { continue }
                // EISDIR cannot happen after the fstat check; anything here is an I/O error.
                return .failure(errno == EACCES || errno == EPERM ? .permissionDenied : .readError)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maxSize { return .failure(.fileTooLarge) }
        }
        return .success((status.stamp, bytes))
    }
}

/// `read(2)`, named apart from ``CertFileReader/read(_:maxSize:)``.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
