import Foundation
import SPIFFEExporterCore

/// Renders /status: what the exporter holds now (the `check` view) and recent events. Every value
/// is HTML-escaped; keys and tokens never reach this layer.
enum StatusPage {
    static func json(_ report: StatusReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? "{}\n"
    }

    static func html(_ report: StatusReport, telemetryPath: String) -> String {
        var out = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>spiffe-exporter status</title>
            <style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
            .OK{background:#dfd}.WARNING{background:#ffd}.CRITICAL{background:#fdd}.UNKNOWN{background:#eee}</style></head>
            <body><h1>spiffe-exporter status: <span class="\(report.check.status.label)">\(report.check.status.label)</span></h1>
            <p>At \(escape(iso(report.check.checkedAt))). <a href="\(escape(telemetryPath))">Metrics</a> · <a href="?format=json">JSON</a></p>
            \(outageBudget(report.check))

            """
        // Expected identities first: a missing one is the first thing on-call needs to see.
        let expected = report.check.identities.filter { $0.kind.hasPrefix("expected") }
        if !expected.isEmpty {
            out += "<h2>Expected identities</h2><table><tr><th>status</th><th>source</th><th>kind</th><th>SPIFFE ID</th><th>detail</th></tr>\n"
            for identity in expected {
                out += "<tr class=\"\(identity.status.label)\"><td>\(identity.status.label)</td><td>\(escape(identity.source))</td>"
                out += "<td>\(escape(identity.kind + (identity.audience.map { " (\($0))" } ?? "")))</td><td>\(escape(identity.spiffeID))</td>"
                out += "<td>\(escape(identity.summary))</td></tr>\n"
            }
            out += "</table>\n"
        }
        out += "<h2>Sources</h2><table><tr><th>source</th><th>kind</th><th>up</th><th>since</th><th>synced</th><th>last failure</th><th>hint</th></tr>\n"
        for source in report.sources {
            out += "<tr><td>\(escape(source.source))</td><td>\(source.kind.rawValue)</td><td>\(source.up.map { $0 ? "yes" : "no" } ?? "-")</td>"
            out += "<td>\(escape(iso(source.since)))</td><td>\(source.synced ? "yes" : "no")</td>"
            out += "<td>\(escape(source.lastFailureReason ?? "-"))</td><td>\(escape(source.hint ?? ""))</td></tr>\n"
        }
        out += "</table>\n<h2>Identities</h2><table><tr><th>status</th><th>source</th><th>kind</th><th>SPIFFE ID</th>"
        out += "<th>expires in</th><th>lifetime used</th><th>renewal</th><th>bundle CA expires in</th><th>detail</th></tr>\n"
        for identity in report.check.identities where !identity.kind.hasPrefix("expected") {
            out += "<tr class=\"\(identity.status.label)\"><td>\(identity.status.label)</td><td>\(escape(identity.source))</td>"
            out += "<td>\(escape(identity.kind + (identity.audience.map { " (\($0))" } ?? "")))</td><td>\(escape(identity.spiffeID))</td>"
            out += "<td>\(identity.expiresInSeconds.map(CheckFormatter.duration) ?? "-")</td>"
            out += "<td>\(identity.lifetimeUsedPercent.map { String(format: "%.0f%%", $0) } ?? "-")</td>"
            out += "<td>\(escape(renewal(identity)))</td>"
            out += "<td>\(identity.bundleCAExpiresAt.map { CheckFormatter.duration($0.timeIntervalSince(report.check.checkedAt)) } ?? "-")</td>"
            out += "<td>\(escape(identity.summary))</td></tr>\n"
        }
        out += "</table>\n<h2>Recent events</h2><table><tr><th>time</th><th>source</th><th>event</th><th>times</th></tr>\n"
        for event in report.events {
            out += "<tr><td>\(escape(iso(event.time)))</td><td>\(escape(event.source))</td><td>\(escape(event.message))</td>"
            out += "<td>\(escape(repeats(event)))</td></tr>\n"
        }
        out += "</table>\n</body></html>\n"
        return out
    }

    /// How long the node's identities survive without renewal, and which one ends first.
    static func outageBudget(_ check: CheckReport) -> String {
        guard let budget = check.outageBudget else { return "" }
        return "<p id=\"outage-budget\">Node outage budget: \(escape(CheckFormatter.outageBudget(budget, at: check.checkedAt)))</p>"
    }

    /// "overdue since …" (a state of its own), else when the renewal is due.
    static func renewal(_ identity: CheckIdentity) -> String {
        guard let deadline = identity.renewalDeadline else { return "-" }
        return identity.renewalOverdue == true ? "overdue since \(iso(deadline))" : "due by \(iso(deadline))"
    }

    /// "1", or "37 (first at …)" for a collapsed repeat.
    static func repeats(_ event: ExporterEvent) -> String {
        event.count == 1 ? "1" : "\(event.count) (first at \(iso(event.firstTime)))"
    }

    static func iso(_ date: Date) -> String {
        RFC3339.string(from: date)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
