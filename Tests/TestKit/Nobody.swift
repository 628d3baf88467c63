import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` on a dedicated thread whose file-system uid is 65534 (nobody), via `setfsuid(2)`
/// (looked up with dlsym: the Glibc module does not export it). Only that thread loses root's file
/// access, so a test running as root can still see a real EACCES.
public func asNobody<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
    typealias SetFSUID = @convention(c) (UInt32) -> Int32
    let symbol = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setfsuid"), "setfsuid not found")
    let setfsuid = unsafeBitCast(symbol, to: SetFSUID.self)
    return await withCheckedContinuation { continuation in
        let thread = Thread {
            _ = setfsuid(65534)
            let result = body()
            _ = setfsuid(0)
            continuation.resume(returning: result)
        }
        thread.start()
    }
}
