#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SPIFFEExporterCore

/// Standard `process_*` metrics read from /proc, as client_golang's process collector does.
public enum ProcessMetrics {
    public static func collect(into builder: inout ScrapeBuilder) {
        #if os(Linux)
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // Fields after the command name, which may itself contain spaces or parentheses.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] is field 3 (state); utime=14, stime=15, starttime=22, vsize=23, rss=24.
            func field(_ n: Int) -> Double? { n - 3 < fields.count ? Double(fields[n - 3]) : nil }
            if let utime = field(14), let stime = field(15), ticks > 0 {
                builder.add(MetricCatalog.processCPU, [Sample([], (utime + stime) / ticks)])
            }
            if let vsize = field(23) { builder.add(MetricCatalog.processVirtualMemory, [Sample([], vsize)]) }
            if let rss = field(24) { builder.add(MetricCatalog.processResidentMemory, [Sample([], rss * pageSize)]) }
            if let start = field(22), let boot = bootTime(), ticks > 0 {
                builder.add(MetricCatalog.processStartTime, [Sample([], boot + start / ticks)])
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            builder.add(MetricCatalog.processOpenFDs, [Sample([], Double(fds.count))])
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            builder.add(MetricCatalog.processMaxFDs, [Sample([], Double(limit.rlim_cur))])
        }
        #endif
    }

    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
