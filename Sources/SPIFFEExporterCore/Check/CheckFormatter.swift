import Foundation

/// Renders a ``CheckReport`` for a person (table) or a program (JSON).
public enum CheckFormatter {
    public static func json(_ report: CheckReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        struct Output: Encodable {
            var status: String
            var reasons: [String]
            var exitCode: Int
            var checkedAt: Date
            var identities: [CheckIdentity]
            var failures: [CheckSourceFailure]
        }
        let output = Output(
            status: report.status.label, reasons: report.verdict.reasons, exitCode: report.status.rawValue, checkedAt: report.checkedAt,
            identities: report.identities, failures: report.failures)
        return (try? encoder.encode(output)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? "{}\n"
    }

    public static func table(_ report: CheckReport) -> String {
        var rows: [[String]] = [["STATUS", "SOURCE", "KIND", "SPIFFE ID", "EXPIRES IN", "USED", "BUNDLE CA EXPIRES", "DETAIL"]]
        for identity in report.identities {
            rows.append([
                identity.status.label,
                identity.source,
                identity.kind + (identity.audience.map { " (\($0))" } ?? ""),
                identity.spiffeID,
                identity.expiresInSeconds.map(duration) ?? "-",
                identity.lifetimeUsedPercent.map { String(format: "%.0f%%", $0) } ?? "-",
                identity.bundleCAExpiresAt.map { duration($0.timeIntervalSince(report.checkedAt)) } ?? "-",
                identity.summary,
            ])
        }
        var out = ""
        if rows.count > 1 {
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                let cells = row.enumerated().map { index, cell in
                    index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }
                out += cells.joined(separator: "  ") + "\n"
            }
        }
        if let budget = report.outageBudget {
            out += "\nnode outage budget: \(outageBudget(budget, at: report.checkedAt))\n"
        }
        for failure in report.failures {
            out += "\n\(CheckStatus.unknown.label): \(failure.source) (\(failure.target)): \(failure.reason)"
            if !failure.detail.isEmpty { out += " — \(failure.detail)" }
            out += "\n  hint: \(failure.hint)\n"
        }
        if report.identities.isEmpty && report.failures.isEmpty { out += "nothing to check\n" }
        out += "\n\(report.status.label): \(counted(report.identities.count, "identity", "identities")) checked, \(counted(report.failures.count, "source", "sources")) failed\n"
        return out
    }

    /// "23m10s, until the agent_svid of spiffe://… (source agent) expires": how long the node's
    /// identities survive without renewal, and what ends it.
    public static func outageBudget(_ limit: OutageBudget.Limit, at now: Date) -> String {
        let left = limit.seconds(at: now)
        let what = limit.kind == .intermediate ? "an intermediate CA of \(limit.spiffeID)" : "\(limit.kind.rawValue) \(limit.spiffeID)"
        return left > 0
            ? "\(duration(left)), until \(what) (source \(limit.source)) expires"
            : "none left: \(what) (source \(limit.source)) has expired"
    }

    /// `3d4h`, `1h2m`, `4m5s`, `12s`; negative durations read `-4m5s` (expired that long ago).
    public static func duration(_ seconds: Double) -> String {
        let negative = seconds < 0
        var rest = Int(abs(seconds).rounded(.down))
        let days = rest / 86400
        rest %= 86400
        let hours = rest / 3600
        rest %= 3600
        let minutes = rest / 60
        let secs = rest % 60
        let text: String
        if days > 0 {
            text = "\(days)d\(hours)h"
        } else if hours > 0 {
            text = "\(hours)h\(minutes)m"
        } else if minutes > 0 {
            text = "\(minutes)m\(secs)s"
        } else {
            text = "\(secs)s"
        }
        return negative ? "-" + text : text
    }

    /// "1 identity", "2 identities".
    static func counted(_ count: Int, _ singular: String, _ plural: String) -> String {
        "\(count) \(count == 1 ? singular : plural)"
    }
}
