import ExporterTestKit
import Foundation
import SPIFFEAgentAPIs
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import WorkloadAPISimulator

/// The agent collector against the simulator's Debug API and data files it writes: the agent
/// SVID, server sync, caches, renewal tracking, outage budget, faults and bad files.
@Suite("Agent collector", .timeLimit(.minutes(1)))
struct AgentCollectorTests {
    static let source = ["source": "agent"]

    func configuration(
        admin: String? = nil, dataFile: String? = nil, interval: Duration = .milliseconds(100)
    ) -> AgentCollectorConfiguration {
        AgentCollectorConfiguration(
            source: "agent", adminAddress: admin.map { .unix(path: $0) }, dataFile: dataFile, interval: interval,
            timeout: .seconds(2))
    }

    /// Runs the collector on `exporter` for the duration of `body`.
    func withAgentCollector<T>(
        _ configuration: AgentCollectorConfiguration, _ exporter: ExporterHarness, _ body: () async throws -> T
    ) async throws -> T {
        let collector = AgentCollector(configuration: configuration, context: exporter.context)
        return try await exporter.running([collector], body)
    }

    func failures(_ exporter: ExporterHarness, _ reason: AgentFailureReason) -> Double {
        exporter.registry.value(MetricCatalog.agentFailures, ["agent", reason.rawValue]) ?? 0
    }

    @Test("GetInfo gives the agent SVID, sync, caches and uptime; a rotation counts as a renewal")
    func debugAPI() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments])
            let clock = ShiftableClock()
            try await withSimulator(node, clock: clock) { simulator in
                let exporter = ExporterHarness()
                let agentID = simulator.agentSPIFFEID
                let labels = ["source": "agent", "spiffe_id": agentID]
                try await withAgentCollector(configuration(admin: node.adminSocketPath), exporter) {
                    // `up` is set before the store holds the reading: wait for both.
                    let scrape = try await eventually("the agent is read") { () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        return scrape.value("spiffe_agent_up", Self.source) == 1
                            && scrape.value("spiffe_agent_svid_expiry_timestamp_seconds", labels) != nil ? scrape : nil
                    }
                    let leaf = try #require(simulator.currentAgentSVID).leaf
                    #expect(scrape.value("spiffe_agent_svid_expiry_timestamp_seconds", labels) == leaf.notValidAfter.timeIntervalSince1970)
                    #expect((scrape.value("spiffe_agent_svid_expires_in_seconds", labels) ?? 0) > 0)
                    #expect((scrape.value("spiffe_agent_last_sync_success_timestamp_seconds", Self.source) ?? 0) > Date().timeIntervalSince1970 - 60)
                    #expect(scrape.value("spiffe_agent_cached_svids", ["source": "agent", "type": "x509"]) == 2)
                    #expect(scrape.value("spiffe_agent_cached_svids", ["source": "agent", "type": "svidstore"]) == 0)
                    #expect(scrape.value("spiffe_agent_uptime_seconds", Self.source) != nil)
                    // Only the data file says whether the agent can re-attest.
                    #expect(!scrape.has("spiffe_agent_reattestable"))
                    #expect(scrape.value("spiffe_agent_failures_total", ["source": "agent", "reason": "unimplemented"]) == 0)
                    #expect(scrape.value("spiffe_x509_svid_renewals_total", labels.merging(["outcome": "on_time"]) { $1 }) == 0)
                    #expect(scrape.value("spiffe_x509_svid_renewal_overdue", labels) == 0)
                    // The agent SVID ends the node's budget first here: the workload SVIDs live as long.
                    #expect(scrape.value("spiffe_outage_budget_seconds", Self.source) != nil)
                    #expect(scrape.value("spiffe_node_outage_budget_seconds") != nil)
                    // Not a workload SVID: no spiffe_x509_svid_* identity series for it.
                    #expect(scrape.samples("spiffe_x509_svid_expiry_timestamp_seconds", Self.source).isEmpty)

                    // A minute later, so the new SVID's (second-granular) NotAfter differs.
                    clock.advance(by: 60)
                    try simulator.rotateAgentSVID()
                    try await eventually("the rotation is seen") { () async -> Bool in
                        await exporter.scrape().value(
                            "spiffe_x509_svid_renewals_total", labels.merging(["outcome": "on_time"]) { $1 }) == 1
                    }
                    try await exporter.expectValidExposition()
                }
            }
        }
    }

    @Test("the data file adds reattestable, and its NotBefore sets the agent SVID's renewal deadline")
    func dataFileAndDebugAPI() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node) { simulator in
                let file = directory + "/agent-data.json"
                try simulator.writeAgentDataFile(to: file, reattestable: false)
                let exporter = ExporterHarness()
                let labels = ["source": "agent", "spiffe_id": simulator.agentSPIFFEID]
                try await withAgentCollector(configuration(admin: node.adminSocketPath, dataFile: file), exporter) {
                    let scrape = try await eventually("both channels are read") { () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        return scrape.value("spiffe_agent_reattestable", Self.source) == 0 ? scrape : nil
                    }
                    #expect(scrape.value("spiffe_agent_up", Self.source) == 1)
                    let leaf = try #require(simulator.currentAgentSVID).leaf
                    let lifetime = leaf.notValidAfter.timeIntervalSince(leaf.notValidBefore)
                    let deadline = leaf.notValidBefore.timeIntervalSince1970 + lifetime * 0.75
                    let exported = try #require(scrape.value("spiffe_x509_svid_renewal_deadline_timestamp_seconds", labels))
                    #expect(abs(exported - deadline) < 0.01)
                    #expect(scrape.value("spiffe_agent_last_sync_success_timestamp_seconds", Self.source) != nil)
                }
            }
        }
    }

    @Test(
        "agent faults are counted by reason and take the collector down",
        arguments: [
            (SimulatedAgentFault.unimplemented, AgentFailureReason.unimplemented),
            (.permissionDenied, .permissionDenied),
            (.emptyChain, .emptyChain),
        ])
    func faults(fault: SimulatedAgentFault, reason: AgentFailureReason) async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node) { simulator in
                try simulator.setAgentFault(fault)
                let logs = CapturedLogs()
                let exporter = ExporterHarness(logger: logs.logger)
                try await withAgentCollector(configuration(admin: node.adminSocketPath), exporter) {
                    try await eventually("the failure is counted three times") { self.failures(exporter, reason) >= 3 }
                    let scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_agent_up", Self.source) == 0)
                    #expect(!scrape.has("spiffe_agent_svid_expiry_timestamp_seconds"))
                    #expect(exporter.board.health("agent")?.lastFailureReason == reason.rawValue)
                    // Logged once, not once per read.
                    #expect(logs.all.filter { $0.contains("agent read failed") }.count == 1)
                    try await exporter.expectValidExposition()

                    try simulator.setAgentFault(.none)
                    try await eventually("the agent recovers") { () async -> Bool in
                        await exporter.scrape().value("spiffe_agent_up", Self.source) == 1
                    }
                    #expect(logs.all.contains { $0.contains("agent readable again") })
                }
            }
        }
    }

    @Test("a stale server sync freezes last_sync_success; an expired agent SVID spends the node budget")
    func staleSyncAndExpiredSVID() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node) { simulator in
                try simulator.setAgentFault(.staleSync)
                let frozen = Date().timeIntervalSince1970
                let exporter = ExporterHarness()
                try await withAgentCollector(configuration(admin: node.adminSocketPath), exporter) {
                    let first = try await eventually("the agent is read") { () async -> Double? in
                        await exporter.scrape().value("spiffe_agent_last_sync_success_timestamp_seconds", Self.source)
                    }
                    #expect(abs(first - frozen) < 5)
                    try simulator.setAgentFault(.expiredAgentSVID)
                    let scrape = try await eventually("the expired SVID is read") { () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        let left = scrape.value(
                            "spiffe_agent_svid_expires_in_seconds", ["source": "agent", "spiffe_id": simulator.agentSPIFFEID])
                        return (left ?? 1) < 0 ? scrape : nil
                    }
                    #expect(scrape.value("spiffe_node_outage_budget_seconds") == 0)
                    #expect(
                        scrape.value(
                            "spiffe_outage_budget_limit_info",
                            ["source": "agent", "spiffe_id": simulator.agentSPIFFEID, "kind": "agent_svid"]) == 1)
                    // The collector itself is fine: it reads an agent in trouble.
                    #expect(scrape.value("spiffe_agent_up", Self.source) == 1)
                }
            }
        }
    }

    @Test("no admin socket is socket_not_found")
    func socketMissing() async throws {
        try await withTemporaryDirectory { directory in
            let exporter = ExporterHarness()
            try await withAgentCollector(configuration(admin: directory + "/admin.sock"), exporter) {
                try await eventually("counted") { self.failures(exporter, .socketNotFound) >= 1 }
                #expect(exporter.registry.value(MetricCatalog.agentUp, ["agent"]) == 0)
            }
        }
    }

    @Test("bad data files are counted by reason, the last good one is kept, /metrics stays valid")
    func badDataFiles() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node, started: false) { simulator in
                let file = directory + "/agent-data.json"
                try simulator.writeAgentDataFile(to: file, reattestable: true)
                let logs = CapturedLogs()
                let exporter = ExporterHarness(logger: logs.logger)
                let labels = ["source": "agent", "spiffe_id": simulator.agentSPIFFEID]
                try await withAgentCollector(configuration(dataFile: file), exporter) {
                    try await eventually("the file is read") { () async -> Bool in
                        await exporter.scrape().value("spiffe_agent_reattestable", Self.source) == 1
                    }
                    let good = try #require(simulator.currentAgentSVID).leaf.notValidAfter.timeIntervalSince1970
                    let cases: [(String, () throws -> Void, AgentFailureReason)] = [
                        ("garbage", { try Data("not json at all".utf8).write(to: URL(fileURLWithPath: file)) }, .dataFileMalformed),
                        ("truncated", { try Data("{\"svid\":[\"LS0tLS1CRUdJTi".utf8).write(to: URL(fileURLWithPath: file)) }, .dataFileMalformed),
                        ("100 MB", { try Self.sparseFile(file, size: 100 << 20) }, .dataFileTooLarge),
                        ("a FIFO", {
                            // Renamed into place: a read between a removal and mkfifo would log a
                            // not_found of its own.
                            #expect(mkfifo(file + ".fifo", 0o600) == 0)
                            #expect(rename(file + ".fifo", file) == 0)
                        }, .dataFileUnreadable),
                        ("gone", { try FileManager.default.removeItem(atPath: file) }, .dataFileNotFound),
                    ]
                    for (name, damage, reason) in cases {
                        try damage()
                        try await eventually("\(name) is counted as \(reason.rawValue)") { self.failures(exporter, reason) >= 2 }
                        let scrape = await exporter.scrape()
                        #expect(scrape.value("spiffe_agent_up", Self.source) == 0, "\(name)")
                        // The countdown of the last good read goes on.
                        #expect(scrape.value("spiffe_agent_svid_expiry_timestamp_seconds", labels) == good, "\(name)")
                        try await exporter.expectValidExposition()
                    }
                    // One warning per change of reason (garbage and truncated share one).
                    var changes = 0
                    for (index, item) in cases.enumerated() where index == 0 || item.2 != cases[index - 1].2 { changes += 1 }
                    #expect(logs.all.filter { $0.contains("agent read failed") }.count == changes)
                }
            }
        }
    }

    @Test("a pre-1.9 agent_svid.der is read, also found in the data directory; no other file there is opened")
    func legacyDataFile() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node, started: false) { simulator in
                let dataDirectory = directory + "/data"
                try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
                try simulator.writeLegacyAgentSVID(to: dataDirectory + "/agent_svid.der")
                // The agent's key: unreadable garbage that must never be touched.
                #expect(mkfifo(dataDirectory + "/keys.json", 0o600) == 0)
                let exporter = ExporterHarness()
                try await withAgentCollector(configuration(dataFile: dataDirectory), exporter) {
                    let scrape = try await eventually("the legacy file is read") { () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        return scrape.value("spiffe_agent_up", Self.source) == 1 ? scrape : nil
                    }
                    #expect(scrape.has("spiffe_agent_svid_expiry_timestamp_seconds"))
                    #expect(!scrape.has("spiffe_agent_reattestable"))
                    try Data([0x30, 0x82, 0xFF, 0xFF, 0x01]).write(to: URL(fileURLWithPath: dataDirectory + "/agent_svid.der"))
                    try await eventually("garbage DER is counted") { self.failures(exporter, .legacyDataFileMalformed) >= 1 }
                }
            }
        }
    }

    @Test("check reads the agent once: its row, and a failure with a hint for a missing data file")
    func checkRow() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node) { simulator in
                let healthy = await AgentCheck.run(
                    configuration: configuration(admin: node.adminSocketPath), thresholds: CheckThresholds())
                #expect(healthy.failures.isEmpty)
                let row = try #require(healthy.identities.first)
                #expect(row.kind == "agent_svid")
                #expect(row.spiffeID == simulator.agentSPIFFEID)
                #expect(row.summary.contains("last server sync"))
                let missing = await AgentCheck.run(
                    configuration: configuration(admin: node.adminSocketPath, dataFile: directory + "/nope.json"),
                    thresholds: CheckThresholds())
                // GetInfo still answers for the SVID; the data file is a failure of its own.
                #expect(missing.identities.count == 1)
                #expect(missing.failures.map(\.reason) == ["data_file_not_found"])
                #expect(missing.failures.first?.hint.contains("agent-data.json") == true)
                let report = CheckReport(checkedAt: Date(), identities: missing.identities, failures: missing.failures)
                #expect(CheckFormatter.table(report).contains("node outage budget: "))
            }
        }
    }

    @Test("a data file the exporter may not read (mode 0600, another owner) is permission_denied")
    func unreadableDataFile() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node, started: false) { simulator in
                let file = directory + "/agent-data.json"
                try simulator.writeAgentDataFile(to: file, reattestable: true)
                // The directory must be traversable by nobody, the file not readable (0600, root's).
                #expect(chmod(directory, 0o755) == 0)
                let now = Date()
                let result = try await asNobody { AgentDataFileReader.read(file, now: now) }
                guard case .failure(let failure) = result else {
                    Issue.record("nobody read a 0600 file of root's")
                    return
                }
                #expect(failure.reason == .permissionDenied)
                #expect(failure.reason.hint(channel: .dataFile).contains("0600"))
                // As its owner, the same file reads.
                #expect((try? AgentDataFileReader.read(file, now: now).get()) != nil)
            }
        }
    }

    static func sparseFile(_ path: String, size: Int) throws {
        try? FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
    }
}

/// GetInfo's answers checked without a socket.
@Suite struct AgentDebugInfoTests {
    func cert(_ trustDomain: String, _ path: String, expiresAt: Int64) -> Spire_Agent_Debug_V1_GetInfoResponse.Cert {
        var cert = Spire_Agent_Debug_V1_GetInfoResponse.Cert()
        if !trustDomain.isEmpty {
            var id = Spire_Api_Types_SPIFFEID()
            id.trustDomain = trustDomain
            id.path = path
            cert.id = id
        }
        cert.expiresAt = expiresAt
        return cert
    }

    @Test func aGoodAnswer() throws {
        var response = Spire_Agent_Debug_V1_GetInfoResponse()
        response.svidChain = [
            cert("example.org", "/spire/agent/x509pop/abc", expiresAt: Int64(at(3600).timeIntervalSince1970)),
            cert("", "", expiresAt: Int64(at(7200).timeIntervalSince1970)),
        ]
        response.lastSyncSuccess = Int64(at(-3).timeIntervalSince1970)
        response.uptime = 42
        response.cachedX509SvidsCount = 7
        response.cachedJwtSvidsCount = 2
        response.cachedSvidstoreX509SvidsCount = 1
        let report = try AgentDebugInfo.report(response, now: at(0)).get()
        #expect(report.spiffeID == "spiffe://example.org/spire/agent/x509pop/abc")
        #expect(report.leaf.notAfter == at(3600))
        #expect(report.leaf.notBefore == nil)
        #expect(report.intermediates.map(\.notAfter) == [at(7200)])
        #expect(report.lastSyncSuccess == at(-3))
        #expect(report.uptime == 42)
        #expect(report.cachedSVIDs == AgentCachedSVIDs(x509: 7, jwt: 2, svidstore: 1))
    }

    @Test(arguments: [
        ([] as [(String, String, Int64)], AgentFailureReason.emptyChain),
        ([("", "", Int64(1_893_459_600))], .malformedResponse),
        ([("example.org", "/agent", Int64(0))], .malformedResponse),
        ([("Example..org", "/agent", Int64(1_893_459_600))], .malformedResponse),
        ([("example.org", "no-slash", Int64(1_893_459_600))], .malformedResponse),
    ])
    func badAnswers(chain: [(String, String, Int64)], reason: AgentFailureReason) {
        var response = Spire_Agent_Debug_V1_GetInfoResponse()
        response.svidChain = chain.map { cert($0.0, $0.1, expiresAt: $0.2) }
        guard case .failure(let failure) = AgentDebugInfo.report(response, now: at(0)) else {
            Issue.record("accepted \(chain)")
            return
        }
        #expect(failure.reason == reason)
    }
}
