import CLibFuzzer
import Dispatch
import FuzzEntryPoints

#if canImport(Glibc)
import Glibc
#endif

/// The target named by `FUZZ_TARGET`, read once.
private let selectedTarget: FuzzTarget = {
    guard let name = getenv("FUZZ_TARGET").map({ String(cString: $0) }), let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        printError("set FUZZ_TARGET to one of: \(names)\n")
        exit(2)
    }
    return target
}()

private func printError(_ message: String) {
    _ = message.withCString { write(2, $0, strlen($0)) }
}

private final class OutcomeBox: @unchecked Sendable {
    var outcome: FuzzOutcome = .accepted
}

@main
enum SPIFFEFuzz {
    static func main() {
        _ = selectedTarget
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzTestOneInput))
    }
}

/// libFuzzer's per-input callback. A broken contract (a rejection without a reason) aborts, so
/// libFuzzer saves the input as a crasher just as it does for a trap.
private func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let target = selectedTarget
    let box = OutcomeBox()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.outcome = await target.run(bytes)
        done.signal()
    }
    done.wait()
    if !box.outcome.keepsContract {
        printError("contract broken: \(target.rawValue) rejected an input without a reason\n")
        abort()
    }
    return 0
}
