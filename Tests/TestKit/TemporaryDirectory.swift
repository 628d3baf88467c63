import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs `body` with a fresh directory under /tmp (short, so socket paths stay far below the
/// 108-byte `sun_path` limit) and removes it afterwards.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/spx-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let path = try #require(made.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    defer {
        // Restore permissions a test may have removed so the cleanup can descend.
        _ = chmod(path, 0o755)
        try? FileManager.default.removeItem(atPath: path)
    }
    return try await body(path)
}
