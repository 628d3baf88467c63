#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import SPIFFEExporterCore
import Synchronization

/// Every write to stdout and stderr goes through here. `FileHandle.write` traps on an error, and
/// stdout/stderr close under a running exporter (`| head`, a restarted log collector): with
/// SIGPIPE ignored, a failed write drops its lines and counts them instead.
enum StandardStreams {
    /// Lines dropped because stdout or stderr could not take them.
    static let droppedLines = Atomic<Int>(0)

    /// Called first in `main`: a closed pipe then fails a write with EPIPE instead of killing the
    /// process with SIGPIPE.
    static func ignoreSIGPIPE() {
        signal(SIGPIPE, SIG_IGN)
    }

    static func out(_ text: String) { write(text, to: STDOUT_FILENO) }
    static func err(_ text: String) { write(text, to: STDERR_FILENO) }

    static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                // EPIPE, EAGAIN (a full non-blocking pipe), EBADF, …: the rest of the text is lost.
                let lines = bytes[offset...].reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
                droppedLines.add(max(lines, 1), ordering: .relaxed)
                return
            }
        }
    }

    /// `spiffe_exporter_log_lines_dropped_total` on /metrics.
    struct DroppedLinesContributor: ScrapeContributor {
        func collect(now: Date, into builder: inout ScrapeBuilder) async {
            let dropped = StandardStreams.droppedLines.load(ordering: .relaxed)
            builder.add(MetricCatalog.logLinesDropped, [Sample([], Double(dropped))])
        }
    }
}

// `write` inside `StandardStreams` would name its own method.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(descriptor, buffer, count)
    #elseif canImport(Musl)
        Musl.write(descriptor, buffer, count)
    #else
        Darwin.write(descriptor, buffer, count)
    #endif
}
