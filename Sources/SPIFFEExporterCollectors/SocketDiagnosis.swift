#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SPIFFEExporterCore

/// Finds out why a Unix socket cannot be reached, since gRPC reports all of these as Unavailable:
/// missing path, file permissions, or nobody listening.
enum SocketDiagnosis {
    static func diagnose(path: String) -> ConnectionFailureReason {
        var info = stat()
        if stat(path, &info) != 0 {
            switch errno {
            case ENOENT, ENOTDIR: return .socketNotFound
            case EACCES: return .permissionDenied
            default: return .other
            }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .other }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard bytes.count < capacity else { return .other }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result == 0 { return .unavailable }
        switch errno {
        case EACCES, EPERM: return .permissionDenied
        case ECONNREFUSED: return .connectionRefused
        case ENOENT: return .socketNotFound
        case ENOTSOCK: return .connectionRefused
        default: return .unavailable
        }
    }
}
