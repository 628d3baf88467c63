import ExporterTestKit
import Foundation
import Hummingbird
import HummingbirdTesting
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SPIFFEExporterHTTP
import TestKit
import Testing

@Suite("/status page", .timeLimit(.minutes(1)))
struct StatusPageTests {
    /// An exporter whose Workload API source holds the PKI's SVID, delivered as its collector does.
    static func exporter(holding pki: StaticPKI, at now: Date = Date()) async -> Exporter {
        let exporter = Exporter()
        exporter.store.register(source: exporter.source)
        exporter.board.register(exporter.source, kind: .workloadAPI, now: now)
        exporter.store.replaceSVIDs(
            source: exporter.source, entries: [await pki.entry()], bundles: ["example.org": pki.bundle], now: now)
        exporter.board.delivered(exporter.source, what: "FetchX509SVID", now: now)
        return exporter
    }

    @Test func htmlAndJSONShowIdentitiesSourcesAndEventsEscaped() async throws {
        let pki = try StaticPKI()
        let exporter = await Self.exporter(holding: pki)
        exporter.board.failed(
            exporter.source, reason: "no_identity", hint: CheckEvaluator.hint(for: .noIdentity, target: "unix:///agent.sock"),
            message: "FetchX509SVID ended: PermissionDenied", down: true, now: Date())
        exporter.store.events.record(
            ExporterEvent(time: Date(), source: exporter.source, kind: "failure", message: "<script>alert(1)</script>"))
        let metrics = exporter.metrics
        let app = Application(router: buildRouter(configuration: HTTPConfiguration(), metrics: metrics, status: metrics))
        try await app.test(.router) { client in
            try await client.execute(uri: "/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: response.body)
                #expect(html.contains(StaticPKI.spiffeID))
                #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
                #expect(!html.contains("<script>"))
                #expect(html.contains("registration entry"))  // the no_identity hint
            }
            try await client.execute(uri: "/status?format=json", method: .get) { response in
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let check = object?["check"] as? [String: Any]
                let identities = check?["identities"] as? [[String: Any]]
                #expect(identities?.first?["spiffeID"] as? String == StaticPKI.spiffeID)
                // Its source went down after delivering it: the last known state, flagged.
                #expect(identities?.first?["status"] as? String == "WARNING")
                #expect((identities?.first?["summary"] as? String)?.hasPrefix("source down since ") == true)
                #expect(object?["status"] as? String == "WARNING")
                #expect((object?["reasons"] as? [String])?.contains { $0.contains("source workload_api (workload_api) down since") } == true)
                let sources = object?["sources"] as? [[String: Any]]
                #expect(sources?.first?["lastFailureReason"] as? String == "no_identity")
                // The board's failure and the one recorded here.
                #expect((object?["events"] as? [Any])?.count == 2)
            }
        }
        // Keys never reach the page.
        let status = await metrics.status(now: Date())
        let json = String(decoding: try JSONEncoder().encode(status), as: UTF8.self)
        #expect(!json.contains(Data(pki.svid.keyPKCS8DER).base64EncodedString().prefix(32)))
    }

    @Test func expectedIdentitiesComeFirstInHTMLAndJSON() async throws {
        let pki = try StaticPKI()
        let exporter = Exporter()
        // Configured before the SVID arrives, as at start-up.
        exporter.store.expectations.configure(
            [
                try ExpectedIdentity(parsing: "spiffe://example.org/ns/gone/sa/api"),
                try ExpectedIdentity(parsing: StaticPKI.spiffeID),
            ], now: Date())
        exporter.store.register(source: exporter.source)
        exporter.board.register(exporter.source, kind: .workloadAPI, now: Date())
        exporter.store.replaceSVIDs(
            source: exporter.source, entries: [await pki.entry()], bundles: ["example.org": pki.bundle], now: Date())
        exporter.board.delivered(exporter.source, what: "FetchX509SVID", now: Date())
        let metrics = exporter.metrics
        let app = Application(router: buildRouter(configuration: HTTPConfiguration(), metrics: metrics, status: metrics))
        try await app.test(.router) { client in
            try await client.execute(uri: "/status", method: .get) { response in
                let html = String(buffer: response.body)
                let expected = try #require(html.range(of: "<h2>Expected identities</h2>"))
                let sources = try #require(html.range(of: "<h2>Sources</h2>"))
                #expect(expected.lowerBound < sources.lowerBound)
                #expect(html.contains("spiffe://example.org/ns/gone/sa/api</td><td data-label=\"detail\">missing"))
                #expect(html.contains(": never_seen</td>"))
                #expect(html.contains("spiffe-exporter status: <span class=\"CRITICAL\">"))
            }
            try await client.execute(uri: "/status?format=json", method: .get) { response in
                let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let identities = (object?["check"] as? [String: Any])?["identities"] as? [[String: Any]] ?? []
                #expect(identities.map { $0["kind"] as? String } == ["expected x509", "expected x509", "x509"])
                #expect(identities.map { $0["status"] as? String } == ["CRITICAL", "OK", "OK"])
                #expect((identities.first?["problems"] as? [String]) == ["never_seen"])
            }
        }
    }

    @Test func theAgentRowAndTheNodeOutageBudgetAreShown() async throws {
        let pki = try StaticPKI()
        let exporter = await Self.exporter(holding: pki)
        let now = Date()
        let agentID = "spiffe://example.org/spire/agent/join_token/n1"
        exporter.store.register(source: "agent")
        exporter.board.register("agent", kind: .agent, now: now)
        exporter.board.delivered("agent", what: "GetInfo", now: now)
        // The agent SVID ends in 5 minutes, before the workload SVID: it sets the node budget.
        let report = AgentReport(
            channel: .debugAPI,
            chain: [AgentChainCertificate(spiffeID: agentID, notBefore: nil, notAfter: now.addingTimeInterval(300))],
            lastSyncSuccess: now.addingTimeInterval(-900), uptime: 60, observedAt: now)
        exporter.store.replaceAgent(source: "agent", report: report, issuedAt: now, now: now)
        let status = await exporter.metrics.status(now: now)
        let row = try #require(status.check.identities.first { $0.kind == "agent_svid" })
        #expect(row.spiffeID == agentID)
        #expect(row.status == .critical)
        #expect(row.summary.contains("last server sync 15m0s ago"))
        #expect(status.check.outageBudget?.kind == .agentSVID)
        #expect(status.sources.contains { $0.source == "agent" && $0.kind == .agent })
        let metrics = exporter.metrics
        let app = Application(router: buildRouter(configuration: HTTPConfiguration(), metrics: metrics, status: metrics))
        try await app.test(.router) { client in
            try await client.execute(uri: "/status", method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("<p id=\"outage-budget\">Node outage budget: "))
                #expect(html.contains("until agent_svid \(agentID) (source agent) expires</p>"))
                #expect(html.contains("<td data-label=\"kind\">agent_svid</td>"))
            }
        }
    }

    @Test func eventLogIsBounded() {
        let log = EventLog(capacity: 3)
        for i in 0..<10 {
            log.record(ExporterEvent(time: Date(timeIntervalSince1970: Double(i)), source: "s", kind: "k", message: "\(i)"))
        }
        #expect(log.recent().map(\.message) == ["9", "8", "7"])
    }

    @Test func repeatedEventsCollapseIntoOneEntryWithCountAndFirstAndLastTime() {
        let log = EventLog(capacity: 5)
        for i in 0..<40 {
            log.record(ExporterEvent(time: at(Double(i)), source: "agent", kind: "failure", message: "FetchX509Bundles ended: Unavailable"))
            if i == 10 { log.record(ExporterEvent(time: at(10), source: "agent", kind: "rotation", message: "rotated")) }
        }
        let events = log.recent()
        #expect(events.map(\.message) == ["FetchX509Bundles ended: Unavailable", "rotated"])
        #expect(events[0].count == 40)
        #expect(events[0].firstTime == at(0))
        #expect(events[0].time == at(39))
        #expect(events[1].count == 1)
    }

    @Test func anSVIDPastItsRenewalDeadlineIsOverdueWithItsDeadlineAndAnEvent() async throws {
        let pki = try StaticPKI()
        let exporter = await Self.exporter(holding: pki)
        let metrics = exporter.metrics
        let before = await metrics.status(now: Date())
        #expect(before.check.identities.first?.renewalOverdue == false)
        #expect(before.check.identities.first?.renewalDeadline != nil)
        #expect(!before.events.contains { $0.kind == "renewal_overdue" })
        // The leaf lives an hour; 3000 s on it is past the 0.75 deadline and not yet expired.
        let later = await metrics.status(now: Date().addingTimeInterval(3000))
        let identity = try #require(later.check.identities.first)
        let deadline = try #require(identity.renewalDeadline)
        #expect(identity.renewalOverdue == true)
        #expect(identity.status >= .warning)
        #expect(identity.summary.hasPrefix("renewal overdue: not replaced by its deadline \(RFC3339.string(from: deadline))"))
        let overdue = later.events.filter { $0.kind == "renewal_overdue" }
        #expect(overdue.count == 1)
        #expect(overdue.first?.message.hasPrefix("renewal overdue: SVID \(StaticPKI.spiffeID) not replaced by its renewal deadline") == true)
        let app = Application(router: buildRouter(configuration: HTTPConfiguration(), metrics: metrics, status: metrics))
        try await app.test(.router) { client in
            try await client.execute(uri: "/status", method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("overdue since \(RFC3339.string(from: deadline))"), "\(html)")
            }
        }
    }

    @Test func theHeadlineIsTheWorstOfIdentitiesAndSourcesAndDownSourcesKeepTheirIdentities() async throws {
        let now = Date()
        let healthy = try StaticPKI()
        let exporter = await Self.exporter(holding: healthy, at: now)
        // A second agent delivered an SVID, then went down: its identity stays, flagged.
        let other = try StaticPKI(spiffeID: "spiffe://example.org/ns/test/sa/db")
        exporter.store.register(source: "agent2")
        exporter.board.register("agent2", kind: .workloadAPI, now: now)
        // Both agents hold both roots: the bundles agree, so only the sources' health speaks.
        let both = TrustBundle(trustDomain: "example.org", certificates: [healthy.root.certificate, other.root.certificate])
        exporter.store.replaceSVIDs(source: exporter.source, entries: [await healthy.entry()], bundles: ["example.org": both], now: now)
        exporter.store.replaceSVIDs(source: "agent2", entries: [await other.entry()], bundles: ["example.org": both], now: now)
        exporter.board.delivered("agent2", what: "FetchX509SVID", now: now)
        exporter.board.failed("agent2", reason: "unavailable", hint: nil, message: "FetchX509SVID ended: Unavailable", down: true, now: now)
        // A third never answered.
        exporter.store.register(source: "agent3")
        exporter.board.register("agent3", kind: .workloadAPI, now: now)
        exporter.board.failed("agent3", reason: "socket_not_found", hint: nil, message: "no socket", down: true, now: now)
        let status = await exporter.metrics.status(now: now)
        #expect(status.status == .warning)
        #expect(status.reasons.contains { $0.hasPrefix("WARNING: source agent2 (workload_api) down since ") && $0.hasSuffix(": unavailable") })
        #expect(status.reasons.contains("WARNING: source agent3 (workload_api) never synced: socket_not_found"))
        // The flagged identity sorts first; the healthy one after it.
        #expect(status.check.identities.map(\.source) == ["agent2", "workload_api"])
        let flagged = status.check.identities[0]
        #expect(flagged.status == .warning)
        #expect(flagged.sourceDownSince != nil)
        #expect(flagged.expiresAt == other.svid.leaf.notValidAfter)
        let metrics = exporter.metrics
        let app = Application(router: buildRouter(configuration: HTTPConfiguration(), metrics: metrics, status: metrics))
        try await app.test(.router) { client in
            try await client.execute(uri: "/status", method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("spiffe-exporter status: <span class=\"WARNING\">WARNING</span>"))
                #expect(html.contains("<li>WARNING: source agent3 (workload_api) never synced: socket_not_found</li>"))
                #expect(html.contains("<meta http-equiv=\"refresh\" content=\"30\">"))
                #expect(!html.contains("<script"))
                // The never-synced source says so where its identities would be.
                #expect(html.contains("source never synced: socket_not_found; its identities are unknown"))
                // One lifetime bar per held identity, with now and the renewal deadline marked.
                #expect(html.components(separatedBy: "<svg class=\"lifetime-bar\"").count - 1 == 2)
                #expect(html.components(separatedBy: "<line class=\"now\"").count - 1 == 2)
                #expect(html.components(separatedBy: "<line class=\"deadline\"").count - 1 == 2)
                #expect(html.contains("source down since "))
                let db = try #require(html.range(of: "spiffe://example.org/ns/test/sa/db"))
                let web = try #require(html.range(of: StaticPKI.spiffeID))
                #expect(db.lowerBound < web.lowerBound)
            }
            try await client.execute(uri: "/status?format=json", method: .get) { response in
                let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(object?["status"] as? String == "WARNING")
                #expect((object?["reasons"] as? [String])?.count == 3)
            }
        }
        // Every source healthy again: OK, nothing listed.
        exporter.board.delivered("agent2", what: "FetchX509SVID", now: now)
        exporter.board.unregister("agent3")
        let recovered = await exporter.metrics.status(now: now)
        #expect(recovered.status == .ok)
        #expect(recovered.reasons.isEmpty)
    }
}
