import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// The agent data file parser, the agent's `check` row and the outage budget, from a fixed
/// reference time.
@Suite struct AgentDataFileTests {
    let agentID = "spiffe://example.org/spire/agent/join_token/abc"

    func agentSVID(intermediate: Bool = false) throws -> (svid: IssuedSVID, root: IssuedCA) {
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(23 * 3600))
        let issuer = intermediate
            ? try SVIDFactory.intermediateCA(issuer: root, notBefore: at(-3600), notAfter: at(1800)) : root
        let svid = try SVIDFactory.svid(spiffeID: agentID, issuer: issuer, notBefore: at(-10), notAfter: at(3600))
        return (svid, root)
    }

    /// The file as SPIRE writes it: base64 strings of one PEM CERTIFICATE block each.
    func dataFile(svid: [String], bundle: [String] = [], reattestable: Bool? = true, extra: String = "") -> [UInt8] {
        let quoted = { (items: [String]) in items.map { "\"\($0)\"" }.joined(separator: ",") }
        var fields = ["\"svid\":[\(quoted(svid))]", "\"bundle\":[\(quoted(bundle))]"]
        if let reattestable { fields.append("\"reattestable\":\(reattestable)") }
        if !extra.isEmpty { fields.append(extra) }
        return Array("{\(fields.joined(separator: ","))}".utf8)
    }

    func encoded(_ der: [UInt8]) -> String {
        Data(SVIDFactory.pem("CERTIFICATE", der).utf8).base64EncodedString()
    }

    @Test func readsTheSVIDChainBundleAndReattestable() throws {
        let (svid, root) = try agentSVID(intermediate: true)
        let bytes = dataFile(
            svid: svid.chain.map { encoded(SVIDFactory.der($0)) }, bundle: [encoded(root.der)], reattestable: false,
            extra: "\"connection_attempts\":3")
        let report = try AgentDataFile.parse(bytes, now: at(5)).get()
        #expect(report.channel == .dataFile)
        #expect(report.spiffeID == agentID)
        #expect(report.leaf.notAfter == at(3600))
        #expect(report.leaf.notBefore == at(-10))
        #expect(report.intermediates.map(\.notAfter) == [at(1800)])
        #expect(report.reattestable == false)
        #expect(report.bundle.count == 1)
        #expect(report.lastSyncSuccess == nil)
    }

    @Test func readsALegacyDERChain() throws {
        let (svid, _) = try agentSVID()
        let report = try AgentDataFile.parse(svid.chainDER, now: at(0)).get()
        #expect(report.channel == .legacyDataFile)
        #expect(report.spiffeID == agentID)
        #expect(report.reattestable == nil)
    }

    @Test(arguments: [
        ("", AgentFailureReason.dataFileMalformed),
        ("   \n", .dataFileMalformed),
        ("garbage", .dataFileMalformed),
        ("{\"svid\": [", .dataFileMalformed),
        ("{\"svid\": \"nope\"}", .dataFileMalformed),
        ("{\"svid\": [1, 2]}", .dataFileMalformed),
        ("{\"svid\": [\"!!!\"]}", .dataFileMalformed),
        ("{\"svid\": []}", .emptyChain),
        ("{\"bundle\": []}", .emptyChain),
        ("{\"svid\": [\"" + Data("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8).base64EncodedString() + "\"]}",
            .dataFileMalformed),
        ("{\"svid\": [\"" + Data("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8).base64EncodedString() + "\"]}",
            .dataFileMalformed),
        ("{\"svid\": null}", .emptyChain),
        ("[1, 2, 3]", .dataFileMalformed),
    ])
    func badContentIsAReasonNeverACrash(text: String, reason: AgentFailureReason) {
        let result = AgentDataFile.parse(Array(text.utf8), now: at(0))
        guard case .failure(let failure) = result else {
            Issue.record("parsed \(text)")
            return
        }
        #expect(failure.reason == reason, "\(text): \(failure.detail)")
    }

    @Test func truncatedAndGarbageDERAreLegacyProblems() throws {
        let (svid, _) = try agentSVID()
        for bytes in [Array(svid.chainDER.prefix(svid.chainDER.count / 2)), [0x30, 0x03, 0x01, 0x02, 0x03]] {
            guard case .failure(let failure) = AgentDataFile.parse(bytes, now: at(0)) else {
                Issue.record("parsed a broken DER chain")
                continue
            }
            #expect(failure.reason == .legacyDataFileMalformed)
        }
    }

    @Test func aLeafWithoutSPIFFEIDIsMalformed() throws {
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(3600))
        var profile = LeafProfile()
        profile.uriSANs = []
        let leaf = try SVIDFactory.svid(spiffeID: agentID, issuer: root, notBefore: at(-10), notAfter: at(3600), profile: profile)
        let result = AgentDataFile.parse(dataFile(svid: [encoded(leaf.chainDER)]), now: at(0))
        guard case .failure(let failure) = result else {
            Issue.record("accepted a leaf without SPIFFE ID")
            return
        }
        #expect(failure.reason == .dataFileMalformed)
    }

    @Test func garbageBundleEntryIsMalformedNotIgnored() throws {
        let (svid, _) = try agentSVID()
        let result = AgentDataFile.parse(dataFile(svid: [encoded(svid.chainDER)], bundle: ["AAAA"]), now: at(0))
        guard case .failure(let failure) = result else {
            Issue.record("accepted a garbage bundle")
            return
        }
        #expect(failure.reason == .dataFileMalformed)
        #expect(failure.detail.hasPrefix("bundle[0]"))
    }
}

@Suite struct AgentCheckTests {
    let thresholds = CheckThresholds(warning: 24 * 3600, critical: 3600, deadlineFraction: 0.75)

    func report(
        notBefore: Date? = at(-10), notAfter: Date = at(3600), lastSync: Date? = at(-2), reattestable: Bool? = nil,
        intermediate: Date? = nil
    ) -> AgentReport {
        var chain = [AgentChainCertificate(spiffeID: "spiffe://example.org/spire/agent/x", notBefore: notBefore, notAfter: notAfter)]
        if let intermediate { chain.append(AgentChainCertificate(spiffeID: "", notBefore: nil, notAfter: intermediate)) }
        return AgentReport(
            channel: .debugAPI, chain: chain, lastSyncSuccess: lastSync, uptime: 100, reattestable: reattestable,
            observedAt: at(0))
    }

    @Test func healthyAgentIsOKWithItsLastSync() {
        let row = CheckEvaluator.agent(report(), source: "agent", thresholds: thresholds, now: at(0))
        #expect(row.status == .ok)
        #expect(row.kind == "agent_svid")
        #expect(row.summary == "last server sync 2s ago")
    }

    @Test func staleSyncWarnsAndNeverSyncedWarns() {
        let stale = CheckEvaluator.agent(report(lastSync: at(-601)), source: "agent", thresholds: thresholds, now: at(0))
        #expect(stale.status == .warning)
        #expect(stale.summary == "last server sync 10m1s ago")
        #expect(CheckEvaluator.agent(report(lastSync: at(-599)), source: "agent", thresholds: thresholds, now: at(0)).status == .ok)
        let never = CheckEvaluator.agent(
            report(lastSync: Date(timeIntervalSince1970: 0)), source: "agent", thresholds: thresholds, now: at(0))
        #expect(never.status == .warning)
    }

    @Test func expiredAgentSVIDIsCriticalAndSaysWhenItCannotReattest() {
        let row = CheckEvaluator.agent(
            report(notAfter: at(-5), reattestable: false), source: "agent", thresholds: thresholds, now: at(0))
        #expect(row.status == .critical)
        #expect(row.problems == ["expired"])
        #expect(row.summary.contains("cannot re-attest"))
    }

    @Test func withoutNotBeforeTheThresholdsAreAbsolute() {
        // GetInfo carries no NotBefore: the lifetime is unknown, the thresholds apply as given.
        let row = CheckEvaluator.agent(report(notBefore: nil, notAfter: at(1800)), source: "agent", thresholds: thresholds, now: at(0))
        #expect(row.status == .critical)
        #expect(row.lifetimeUsedPercent == nil)
    }
}

@Suite struct OutageBudgetTests {
    func svid(_ pki: PKI, now: Date = at(0)) async -> X509SVIDReport { await pki.analyze(now: now) }

    @Test func theEarliestCertificateOfEachSourceSetsItsBudget() async throws {
        let plain = try await PKI(spiffeID: "spiffe://example.org/a").analyze()  // leaf ends at(3600)
        let chained = try await PKI(spiffeID: "spiffe://example.org/b", intermediate: true).analyze()  // leaf at(3600), intermediate at(12h)
        var agent = SourceSnapshot(source: "agent", svids: [], bundles: [:])
        agent.agent = AgentReport(
            channel: .debugAPI,
            chain: [
                AgentChainCertificate(spiffeID: "spiffe://example.org/spire/agent/x", notBefore: nil, notAfter: at(7200)),
                AgentChainCertificate(spiffeID: "", notBefore: nil, notAfter: at(1200)),
            ], observedAt: at(0))
        let snapshots = [
            SourceSnapshot(source: "workload_api", svids: [plain], bundles: [:]),
            SourceSnapshot(source: "files", svids: [chained], bundles: [:]),
            agent,
            SourceSnapshot(source: "empty", svids: [], bundles: [:]),
        ]
        let limits = OutageBudget.limits(snapshots)
        #expect(limits.keys.sorted() == ["agent", "files", "workload_api"])
        #expect(limits["workload_api"] == .init(source: "workload_api", spiffeID: "spiffe://example.org/a", kind: .x509SVID, expiresAt: at(3600)))
        #expect(limits["files"]?.kind == .x509SVID)
        #expect(limits["agent"] == .init(source: "agent", spiffeID: "spiffe://example.org/spire/agent/x", kind: .intermediate, expiresAt: at(1200)))
        #expect(OutageBudget.node(limits)?.source == "agent")

        var builder = ScrapeBuilder()
        OutageBudget.collect(snapshots, now: at(200), into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        #expect(text.contains("spiffe_outage_budget_seconds{source=\"agent\"} 1000\n"))
        #expect(text.contains("spiffe_outage_budget_seconds{source=\"workload_api\"} 3400\n"))
        #expect(text.contains("spiffe_node_outage_budget_seconds 1000\n"))
        #expect(text.contains("spiffe_outage_budget_limit_info{source=\"agent\",spiffe_id=\"spiffe://example.org/spire/agent/x\",kind=\"intermediate\"} 1\n"))
        #expect(!text.contains("source=\"empty\""))
    }

    @Test func anIntermediateExpiringBeforeTheLeafLimitsTheSource() async throws {
        // Intermediate ends at(12h): a leaf living longer is limited by it.
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(48 * 3600))
        let intermediate = try SVIDFactory.intermediateCA(issuer: root, notBefore: at(-3600), notAfter: at(600))
        let leaf = try SVIDFactory.svid(spiffeID: "spiffe://example.org/c", issuer: intermediate, notBefore: at(-10), notAfter: at(3600))
        let material = X509SVIDMaterial.fromWorkloadAPI(spiffeID: leaf.spiffeID, hint: "", chainDER: leaf.chainDER, keyDER: leaf.keyPKCS8DER)
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: TrustBundle(trustDomain: nil, certificates: [root.certificate])), now: at(0))
        let limit = OutageBudget.limits([SourceSnapshot(source: "s", svids: [report], bundles: [:])])["s"]
        #expect(limit?.kind == .intermediate)
        #expect(limit?.expiresAt == at(600))
    }

    @Test func anExpiredIdentitySpendsTheBudgetAndTiesAreStable() {
        let a = OutageBudget.Limit(source: "b", spiffeID: "spiffe://x/1", kind: .x509SVID, expiresAt: at(100))
        #expect(a.seconds(at: at(150)) == 0)
        #expect(a.seconds(at: at(40)) == 60)
        let b = OutageBudget.Limit(source: "a", spiffeID: "spiffe://x/2", kind: .x509SVID, expiresAt: at(100))
        #expect(OutageBudget.node(["b": a, "a": b])?.source == "a")
    }

    @Test func nothingHeldMeansNoBudgetSeries() {
        var builder = ScrapeBuilder()
        OutageBudget.collect([SourceSnapshot(source: "s", svids: [], bundles: [:])], now: at(0), into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        #expect(!text.contains("\nspiffe_node_outage_budget_seconds "))
        #expect(text.contains("# TYPE spiffe_node_outage_budget_seconds gauge"))
    }

    @Test func checkRowsGiveTheSameNodeLimitLeavingJWTAndProbesOut() async throws {
        let report = try await PKI().analyze()
        let x509 = CheckEvaluator.x509(report, source: "workload_api", bundle: nil, thresholds: CheckThresholds(), now: at(0))
        var jwt = x509
        jwt.kind = "jwt"
        jwt.expiresAt = at(60)
        var served = x509
        served.kind = "served"
        served.expiresAt = at(10)
        let budget = OutageBudget.node(identities: [jwt, served, x509])
        #expect(budget == .init(source: "workload_api", spiffeID: "spiffe://example.org/ns/prod/sa/web", kind: .x509SVID, expiresAt: at(3600)))
        let check = CheckReport(checkedAt: at(0), identities: [x509], failures: [])
        #expect(CheckFormatter.table(check).contains("node outage budget: 1h0m, until x509_svid spiffe://example.org/ns/prod/sa/web (source workload_api) expires"))
    }
}
