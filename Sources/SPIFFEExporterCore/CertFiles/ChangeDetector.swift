import Crypto
import Foundation

/// What `stat` says about a file, enough to tell that it has (probably) not changed.
public struct FileStamp: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    /// Modification time, nanoseconds since the epoch.
    public var modified: Int64

    public init(device: UInt64, inode: UInt64, size: Int64, modified: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modified = modified
    }

    public var modifiedDate: Date { Date(timeIntervalSince1970: Double(modified) / 1e9) }
}

/// SHA-256 of a file's content: decides whether a rewrite changed anything (spiffe-helper rewrites
/// all files on every Workload API message, with the same content most of the time).
public struct ContentDigest: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(of content: some DataProtocol) {
        bytes = Array(SHA256.hash(data: content))
    }

    public var description: String { bytes.prefix(6).map { String(format: "%02x", $0) }.joined() }
}

/// Remembers each file's stamp, digest and parsed form so that a rescan only reads files whose
/// stamp changed, and only reparses files whose content changed.
///
/// A stamp is trusted only if the file's mtime was more than ``racyWindow`` before the moment it
/// was read ("racy git"): file systems keep coarse timestamps, so an in-place rewrite of the same
/// size right after a read could otherwise leave the stamp unchanged.
public struct ChangeDetector<Payload: Sendable>: Sendable {
    struct Entry: Sendable {
        var stamp: FileStamp
        var digest: ContentDigest
        var payload: Payload
        var trusted: Bool
    }

    public static var racyWindow: TimeInterval { 1 }

    private var entries: [String: Entry] = [:]

    public init() {}

    public var count: Int { entries.count }

    /// The cached payload if `stamp` is the one recorded and it can be trusted; `nil` means read it.
    public func unchanged(_ path: String, stamp: FileStamp) -> Payload? {
        guard let entry = entries[path], entry.trusted, entry.stamp == stamp else { return nil }
        return entry.payload
    }

    /// The cached payload if the content just read has the recorded digest (no reparse needed).
    public func sameContent(_ path: String, digest: ContentDigest) -> Payload? {
        guard let entry = entries[path], entry.digest == digest else { return nil }
        return entry.payload
    }

    public func digest(_ path: String) -> ContentDigest? { entries[path]?.digest }

    /// Records what was read. `readAt` is the wall-clock time just before the read started.
    public mutating func record(_ path: String, stamp: FileStamp, digest: ContentDigest, payload: Payload, readAt: Date)
    {
        let trusted = stamp.modifiedDate < readAt.addingTimeInterval(-Self.racyWindow)
        entries[path] = Entry(stamp: stamp, digest: digest, payload: payload, trusted: trusted)
    }

    public mutating func forget(_ path: String) {
        entries.removeValue(forKey: path)
    }

    /// Drops every path not in `paths` (files no longer matched).
    public mutating func retain(_ paths: Set<String>) {
        entries = entries.filter { paths.contains($0.key) }
    }
}
