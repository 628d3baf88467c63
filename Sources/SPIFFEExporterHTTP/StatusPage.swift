import Foundation
import SPIFFEExporterCore

/// Renders /status: the headline and its reasons (the `check` verdict), identities most urgent
/// first with a lifetime bar each, sources and recent events. Every value is HTML-escaped; keys
/// and tokens never reach this layer. No script and no external asset: it must work from a
/// locked-down browser on a bastion host, and the page refreshes itself.
enum StatusPage {
    /// Seconds between the page's own reloads.
    static let refreshSeconds = 30

    static func json(_ report: StatusReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? "{}\n"
    }

    static let style = """
        body{font-family:system-ui,sans-serif;margin:0 auto;padding:0 1em 2em;max-width:1600px;color:#1b1b1b;line-height:1.35}
        h1{font-size:1.6em;margin:.6em 0 .3em}h2{font-size:1.2em;margin:1.4em 0 .4em}
        .scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}
        td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f3f3}
        td.id{word-break:break-all}#reasons li,p{overflow-wrap:anywhere}
        .OK{background:#e3f4e3}.WARNING{background:#fff3c4}.CRITICAL{background:#fddcdc}.UNKNOWN{background:#e8e8e8}
        h1 span{padding:0 .35em;border-radius:4px;border:2px solid #555}
        #reasons{margin:.2em 0 .6em;padding-left:1.2em}#reasons li{margin:.15em 0}
        .lifetime-bar{display:block}.bar-legend{font-size:.8em;color:#444}
        @media (max-width:760px){
          table,tbody,tr,td{display:block;width:auto}tr:first-child{display:none}
          tr{border:1px solid #bbb;margin:0 0 .6em;border-radius:4px}td{border:0;padding:2px 6px}
          td::before{content:attr(data-label) ": ";font-weight:600}
        }
        """

    static func html(_ report: StatusReport, telemetryPath: String) -> String {
        let check = report.check
        let status = report.status.label
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <title>\(status) · spiffe-exporter status</title>
            <style>\(style)</style></head>
            <body><h1 id="headline">spiffe-exporter status: <span class="\(status)">\(status)</span></h1>

            """
        if !report.reasons.isEmpty {
            out += "<ul id=\"reasons\">\n"
            for reason in report.reasons { out += "<li>\(escape(reason))</li>\n" }
            out += "</ul>\n"
        }
        out += """
            <p>At \(escape(iso(check.checkedAt))), refreshed every \(refreshSeconds) s. \
            <a href="\(escape(telemetryPath))">Metrics</a> · <a href="?format=json">JSON</a></p>
            \(outageBudget(check))

            """
        // Expected identities first: a missing one is the first thing on-call needs to see.
        let expected = check.identities.filter { $0.kind.hasPrefix("expected") }
        if !expected.isEmpty {
            out += "<h2>Expected identities</h2><div class=\"scroll\"><table id=\"expected\"><tr><th>status</th><th>source</th><th>kind</th><th>SPIFFE ID</th><th>detail</th></tr>\n"
            for identity in expected {
                out += "<tr class=\"\(identity.status.label)\">\(cell("status", identity.status.label))\(cell("source", identity.source))"
                out += cell("kind", kind(identity)) + cell("SPIFFE ID", identity.spiffeID, class: "id") + cell("detail", identity.summary)
                out += "</tr>\n"
            }
            out += "</table></div>\n"
        }
        out += "<h2>Identities</h2><div class=\"scroll\"><table id=\"identities\"><tr><th>status</th><th>source</th><th>kind</th><th>SPIFFE ID</th>"
        out += "<th>expires in</th><th>lifetime</th><th>renewal</th><th>bundle CA expires in</th><th>detail</th></tr>\n"
        for identity in check.identities where !identity.kind.hasPrefix("expected") {
            out += "<tr class=\"\(identity.status.label) identity\">\(cell("status", identity.status.label))\(cell("source", identity.source))"
            out += cell("kind", kind(identity)) + cell("SPIFFE ID", identity.spiffeID, class: "id")
            out += cell("expires in", identity.expiresInSeconds.map(CheckFormatter.duration) ?? "-")
            out += "<td data-label=\"lifetime\">\(lifetimeBar(identity, now: check.checkedAt))</td>"
            out += cell("renewal", renewal(identity))
            out += cell("bundle CA expires in", identity.bundleCAExpiresAt.map { CheckFormatter.duration($0.timeIntervalSince(check.checkedAt)) } ?? "-")
            out += cell("detail", identity.summary) + "</tr>\n"
        }
        // A source that never synced holds nothing to list: say so where its identities would be.
        for source in report.sources where source.kind.gatesReadiness && !source.synced {
            let detail = "source never synced" + (source.lastFailureReason.map { ": \($0)" } ?? "") + "; its identities are unknown"
            out += "<tr class=\"WARNING unsynced\">\(cell("status", CheckStatus.warning.label))\(cell("source", source.source))"
            out += cell("kind", source.kind.rawValue) + cell("SPIFFE ID", "-") + cell("expires in", "-") + cell("lifetime", "-")
            out += cell("renewal", "-") + cell("bundle CA expires in", "-") + cell("detail", detail) + "</tr>\n"
        }
        out += "</table></div>\n<h2>Sources</h2><div class=\"scroll\"><table id=\"sources\"><tr><th>state</th><th>source</th><th>kind</th><th>since</th><th>last failure</th><th>hint</th></tr>\n"
        for source in report.sources {
            let problem = CheckVerdict.problem(of: source)
            out += "<tr class=\"\(problem == nil ? CheckStatus.ok.label : CheckStatus.warning.label)\">"
            out += cell("state", sourceState(source)) + cell("source", source.source) + cell("kind", source.kind.rawValue)
            out += cell("since", iso(source.since)) + cell("last failure", source.lastFailureReason ?? "-") + cell("hint", source.hint ?? "")
            out += "</tr>\n"
        }
        out += "</table></div>\n<h2>Recent events</h2><div class=\"scroll\"><table id=\"events\"><tr><th>time</th><th>source</th><th>event</th><th>times</th></tr>\n"
        for event in report.events {
            out += "<tr>" + cell("time", iso(event.time)) + cell("source", event.source) + cell("event", event.message)
            out += cell("times", repeats(event)) + "</tr>\n"
        }
        out += "</table></div>\n</body></html>\n"
        return out
    }

    static func cell(_ label: String, _ text: String, class name: String? = nil) -> String {
        "<td data-label=\"\(label)\"\(name.map { " class=\"\($0)\"" } ?? "")>\(escape(text))</td>"
    }

    static func kind(_ identity: CheckIdentity) -> String {
        identity.kind + (identity.audience.map { " (\($0))" } ?? "")
    }

    /// "up", "down", "never synced", "failing", or "read" for sources that are not connected to.
    static func sourceState(_ source: SourceHealth) -> String {
        if !source.synced { return "never synced" }
        if source.up == false { return "down" }
        if source.lastFailureReason != nil { return "failing" }
        return source.up == nil ? "read" : "up"
    }

    /// Issued → renewal deadline → expiry, with now marked, as inline SVG with the same facts in
    /// its title (colour is never the only carrier). "-" when the identity has no lifetime.
    static func lifetimeBar(_ identity: CheckIdentity, now: Date) -> String {
        guard let issued = identity.issuedAt, let expiry = identity.expiresAt, expiry > issued else {
            return identity.lifetimeUsedPercent.map { String(format: "%.0f%% used", $0) } ?? "-"
        }
        let width = 160.0
        let lifetime = expiry.timeIntervalSince(issued)
        func x(_ date: Date) -> Double { (min(1, max(0, date.timeIntervalSince(issued) / lifetime)) * width * 10).rounded() / 10 }
        let fill: String
        switch identity.status {
        case .ok: fill = "#2e8540"
        case .warning: fill = "#c98a00"
        case .critical: fill = "#c62828"
        case .unknown: fill = "#777"
        }
        let used = min(100, max(0, now.timeIntervalSince(issued) / lifetime * 100))
        var facts = "issued \(iso(issued))"
        if let deadline = identity.renewalDeadline { facts += ", renewal due \(iso(deadline))" }
        facts += ", expires \(iso(expiry)), now \(iso(now)) (\(Int(used.rounded()))% of its lifetime used)"
        var svg = "<svg class=\"lifetime-bar\" width=\"\(Int(width))\" height=\"18\" viewBox=\"0 0 \(Int(width)) 18\" role=\"img\" aria-label=\"\(escape(facts))\">"
        svg += "<title>\(escape(facts))</title>"
        svg += "<rect class=\"lifetime\" x=\"0\" y=\"4\" width=\"\(Int(width))\" height=\"10\" fill=\"#ddd\"/>"
        svg += "<rect class=\"elapsed\" x=\"0\" y=\"4\" width=\"\(x(now))\" height=\"10\" fill=\"\(fill)\"/>"
        if let deadline = identity.renewalDeadline {
            svg += "<line class=\"deadline\" x1=\"\(x(deadline))\" y1=\"1\" x2=\"\(x(deadline))\" y2=\"17\" stroke=\"#1b1b1b\" stroke-width=\"1.5\" stroke-dasharray=\"2,1\"/>"
        }
        svg += "<line class=\"now\" x1=\"\(x(now))\" y1=\"0\" x2=\"\(x(now))\" y2=\"18\" stroke=\"#000\" stroke-width=\"2.5\"/>"
        svg += "</svg>"
        let legend = String(format: "%.0f%% used", used) + (identity.renewalDeadline == nil ? "" : "; dashed: renewal deadline")
        return svg + "<span class=\"bar-legend\">\(escape(legend))</span>"
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
