import ExporterTestKit
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SPIFFEAgentAPIs
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import ServiceLifecycle
import TestKit
import Testing
import WorkloadAPISimulator
import X509

@Suite("Delegated Identity: process subscriptions", .timeLimit(.minutes(1)))
struct ProcessSubscriptionTests {
    static let workerID = "spiffe://example.org/ns/jobs/sa/worker"

    @Test("processes found in /proc are followed by PID; a reused PID reopens the stream; an exit removes the identity")
    func followProcesses() async throws {
        try await withTemporaryDirectory { directory in
            let proc = FakeProc(root: directory + "/proc")
            try proc.add(pid: 4242, name: "worker", startTime: 100)
            try proc.add(pid: 77, name: "nginx", startTime: 1)
            let worker = SimulatedWorkload(spiffeID: Self.workerID, selectors: ["k8s:ns:jobs"], pid: 4242)
            let node = nodeConfiguration(directory: directory, workloads: [worker, Workloads.payments])
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let subscription = DelegatedSubscription(name: "workers", target: .processName("worker"))
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: [subscription], procRoot: proc.root, rescan: 0.1)
                try await withDelegatedCollector(configuration, feeding: exporter) { collector in
                    let labels = ["source": "workers", "spiffe_id": Self.workerID]
                    try await eventually("the worker's SVID is exported") {
                        await exporter.scrape().value("spiffe_x509_svid_valid", labels) == 1
                    }
                    let scrape = await exporter.scrape()
                    #expect(scrape.samples("spiffe_x509_svid_valid").count == 1)
                    #expect(scrape.value("spiffe_delegated_subscription_processes", ["source": "workers"]) == 1)
                    #expect(
                        scrape.value(
                            "spiffe_workload_api_updates_total",
                            ["source": "workers", "rpc": "SubscribeToX509SVIDsByPID"]) == 1)
                    #expect(exporter.up("workers") == 1)
                    #expect(simulator.statistics.calls["SubscribeToX509SVIDsByPID"] == 1)
                    #expect(collector.status().first { $0.source == "workers" }?.processes == [4242])

                    // The process exits and its PID is taken by a new process of the same name:
                    // the old stream must be closed and a new one opened.
                    try proc.add(pid: 4242, name: "worker", startTime: 500)
                    try await eventually("a new stream is opened for the new process") {
                        simulator.statistics.calls["SubscribeToX509SVIDsByPID", default: 0] >= 2
                    }
                    try await eventually("the SVID is exported again") {
                        await exporter.scrape().value("spiffe_x509_svid_valid", labels) == 1
                    }

                    try proc.remove(pid: 4242)
                    try await eventually("the identity leaves with the process") {
                        let scrape = await exporter.scrape()
                        return scrape.samples("spiffe_x509_svid_valid", ["source": "workers"]).isEmpty
                            && scrape.value("spiffe_delegated_subscription_processes", ["source": "workers"]) == 0
                    }
                    // Nothing to follow is neither up nor down.
                    #expect(exporter.up("workers") == nil)
                    #expect(exporter.metrics.unsyncedSources().isEmpty)
                }
            }
        }
    }

    @Test("a process subscription without any process is ready and empty")
    func noProcess() async throws {
        try await withTemporaryDirectory { directory in
            let proc = FakeProc(root: directory + "/proc")
            try proc.add(pid: 77, name: "nginx", startTime: 1)
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments])
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!,
                    subscriptions: [DelegatedSubscription(name: "workers", target: .processName("worker"))],
                    procRoot: proc.root, rescan: 0.1)
                try await withDelegatedCollector(configuration, feeding: exporter) { _ in
                    try await eventually("the source is synced") { exporter.metrics.unsyncedSources().isEmpty }
                    #expect(exporter.registry.value(MetricCatalog.delegatedSubscriptionProcesses, ["workers"]) == 0)
                    #expect(simulator.statistics.calls["SubscribeToX509SVIDsByPID", default: 0] == 0)
                }
            }
        }
    }
}

@Suite("Delegated Identity: private keys stay private", .timeLimit(.minutes(1)))
struct DelegatedSecretsTests {
    /// Every spelling of a private key that could leak: the PKCS#8 DER and the bare private scalar
    /// (SEC1 `02 01 01 04 20` + 32 bytes) in hex, base64, as a Swift byte array, as protobuf text
    /// format escapes it, and the PEM body lines.
    static func spellings(of svid: IssuedSVID) -> [String] {
        let der = svid.keyPKCS8DER
        var secrets = [der]
        let marker: [UInt8] = [0x02, 0x01, 0x01, 0x04, 0x20]
        if let start = (0..<(der.count - marker.count)).first(where: { Array(der[$0..<($0 + marker.count)]) == marker }
        ),
            start + marker.count + 32 <= der.count
        {
            secrets.append(Array(der[(start + marker.count)..<(start + marker.count + 32)]))
        }
        var result: [String] = []
        for secret in secrets {
            let hex = secret.map { String(format: "%02x", $0) }.joined()
            result += [hex, hex.uppercased(), String(Data(secret).base64EncodedString().dropFirst(4).prefix(36))]
            result.append(secret.suffix(12).map(String.init).joined(separator: ", "))
            var field = Spire_Api_Agent_Delegatedidentity_V1_X509SVIDWithKey()
            field.x509SvidKey = Data(secret.suffix(16))
            let text = field.textFormatString()
            if let open = text.firstIndex(of: "\""), let close = text.lastIndex(of: "\""), open < close {
                result.append(String(text[text.index(after: open)..<close]))
            }
        }
        result += svid.keyPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count > 16 }.map(String.init)
        return result
    }

    @Test("the key spellings the secrets test looks for do catch a leaked key")
    func spellingsCatchLeaks() throws {
        let now = Date()
        let root = try SVIDFactory.rootCA(
            trustDomain: "example.org", notBefore: now, notAfter: now.addingTimeInterval(60))
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/w", issuer: root, notBefore: now, notAfter: now.addingTimeInterval(60))
        var message = Spire_Api_Agent_Delegatedidentity_V1_X509SVIDWithKey()
        message.x509SvidKey = Data(svid.keyPKCS8DER)
        let leaks = [
            "\(message)", message.textFormatString(), "\(svid.keyPKCS8DER)", svid.keyPEM,
            Data(svid.keyPKCS8DER).base64EncodedString(), svid.keyPKCS8DER.map { String(format: "%02x", $0) }.joined(),
        ]
        for leak in leaks {
            #expect(Self.spellings(of: svid).contains { leak.contains($0) }, "undetected: \(leak.prefix(80))")
        }
    }

    @Test("no key bytes in logs, /metrics, status, /status or check, and none kept in the store")
    func noKeyBytesAnywhere() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments, Workloads.checkout])
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let logs = CapturedLogs()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!,
                    subscriptions: [Workloads.paymentsSubscription, Workloads.checkoutSubscription])
                var outputs: [String] = []
                var keys: [IssuedSVID] = []
                try await withDelegatedCollector(configuration, feeding: exporter, logger: logs.logger) { collector in
                    try await eventually("both SVIDs are exported") {
                        await exporter.scrape().samples("spiffe_x509_svid_valid").count == 2
                    }
                    keys += simulator.currentDelegatedSVIDs.values
                    // Exercise the failure and recovery paths too: they log the most.
                    simulator.dropStreams()
                    try await eventually("the drop is seen") { exporter.failures("payments", .streamClosed) >= 1 }
                    try simulator.rotateDelegatedWorkloads()
                    keys += simulator.currentDelegatedSVIDs.values
                    simulator.setAuthorizedDelegate(false)
                    try await eventually("the refusal is seen") {
                        exporter.failures("payments", .notAuthorizedDelegate) >= 1
                    }
                    simulator.setAuthorizedDelegate(true)
                    try await eventually("both SVIDs are back") {
                        await exporter.scrape().samples("spiffe_x509_svid_valid").count == 2
                    }
                    keys += simulator.currentDelegatedSVIDs.values

                    for source in ["payments", "checkout"] {
                        for entry in exporter.store.entries(source: source) {
                            #expect(entry.material.privateKey == nil, "\(source) keeps a private key")
                            #expect(!entry.material.keyExpected)
                        }
                    }
                    outputs.append(await exporter.scrapeText(.prometheusText))
                    outputs.append(await exporter.scrapeText(.openMetrics))
                    outputs.append(String(describing: collector.status()))
                    let page = await exporter.metrics.status(now: Date())
                    outputs.append(String(decoding: try JSONEncoder().encode(page), as: UTF8.self))
                    outputs.append(String(describing: page))
                }
                let checked = await DelegatedIdentityCollector.check(configuration: configuration, logger: logs.logger)
                outputs.append(String(describing: checked))
                outputs += logs.all
                #expect(logs.all.count > 5)
                let text = outputs.joined(separator: "\n")
                #expect(!text.contains("PRIVATE KEY"))
                for svid in keys {
                    for spelling in Self.spellings(of: svid) where spelling.count >= 16 {
                        #expect(!text.contains(spelling), "key material of \(svid.spiffeID) found in the outputs")
                    }
                }
            }
        }
    }

    @Test(
        "a key that does not match its certificate is key_mismatch, and stays so after a bundle change re-analyses it")
    func keyMismatchSurvivesReanalysis() async throws {
        try await withTemporaryDirectory { directory in
            var node = nodeConfiguration(directory: directory, workloads: [Workloads.payments])
            node.fault = .mismatchedKey
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: [Workloads.paymentsSubscription])
                try await withDelegatedCollector(configuration, feeding: exporter) { _ in
                    let problem = ["source": "payments", "spiffe_id": Workloads.paymentsID, "reason": "key_mismatch"]
                    try await eventually("key_mismatch is reported") {
                        await exporter.scrape().value("spiffe_x509_svid_problem", problem) == 1
                    }
                    #expect(exporter.store.entries(source: "payments").allSatisfy { $0.material.privateKey == nil })
                    try simulator.prepareNextCA()
                    try await eventually("the bundle change is applied") {
                        await exporter.scrape().value(
                            "spiffe_trust_bundle_certificates", ["source": "payments", "trust_domain": "example.org"])
                            == 2
                    }
                    let scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_x509_svid_problem", problem) == 1)
                    #expect(scrape.value("spiffe_x509_svid_valid", ["source": "payments"]) == 0)
                }
            }
        }
    }
}

@Suite("Agent health", .timeLimit(.minutes(1)))
struct AgentHealthTests {
    @Test("the health check follows the agent: serving, not serving, unavailable, gone")
    func followsTheAgent() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let registry = exporter.registry
                let health = AgentHealthCollector(
                    configuration: AgentHealthConfiguration(
                        address: .unix(path: node.socketPath), interval: .milliseconds(50), timeout: .seconds(5)),
                    context: exporter.context)
                #expect(registry.value(MetricCatalog.agentHealthy, ["workload_api"]) == 0)
                try await exporter.running([health]) {
                    func healthy() -> Double? { registry.value(MetricCatalog.agentHealthy, ["workload_api"]) }
                    try await eventually("the agent is reported healthy") { healthy() == 1 }
                    // How long checks take is the benchmark's business; here only that it is exported.
                    #expect(registry.value(MetricCatalog.agentHealthCheckDuration, ["workload_api"]) != nil)

                    simulator.setHealthStatus(.notServing)
                    try await eventually("NOT_SERVING is reported unhealthy") { healthy() == 0 }
                    #expect(await health.checkOnce().result == .notServing(status: "NOT_SERVING"))
                    simulator.setHealthStatus(.unknown)
                    #expect(await health.checkOnce().result == .notServing(status: "UNKNOWN"))
                    simulator.setHealthStatus(.serving)
                    try await eventually("the agent is healthy again") { healthy() == 1 }

                    // The agent's own Workload API fails: its health check says so.
                    simulator.setFault(.unavailable)
                    try await eventually("an agent that cannot serve is unhealthy") { healthy() == 0 }
                    simulator.setFault(.none)
                    try await eventually("and healthy once it serves again") { healthy() == 1 }
                }
                // The check needs no security header: the agent rejected none.
                #expect(simulator.statistics.rejectedMissingHeader == 0)
                #expect(simulator.statistics.calls["Check", default: 0] >= 5)
            }
            // No agent at all: the check fails with the socket diagnosis.
            let nobody = Exporter()
            let gone = AgentHealthCollector(
                configuration: AgentHealthConfiguration(address: .unix(path: directory + "/agent.sock")),
                context: nobody.context)
            let result = try await nobody.running([]) { await gone.checkOnce().result }
            guard case .failed(let code, let reason, _) = result else {
                Issue.record("expected a failed check, got \(result)")
                return
            }
            #expect(code == "Unavailable")
            #expect(reason == .socketNotFound)
        }
    }

    @Test("the simulated health service behaves as SPIRE's: empty service name only, Watch unimplemented")
    func healthServiceContract() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [])
            try await withSimulator(node) { _ in
                let transport = try HTTP2ClientTransport.Posix(
                    target: .unixDomainSocket(path: node.socketPath), transportSecurity: .plaintext)
                try await withGRPCClient(transport: transport) { client in
                    let health = Grpc_Health_V1_Health.Client(wrapping: client)
                    let answer = try await health.check(Grpc_Health_V1_HealthCheckRequest())
                    #expect(answer.status == .serving)
                    var named = Grpc_Health_V1_HealthCheckRequest()
                    named.service = "SpiffeWorkloadAPI"
                    await #expect(throws: RPCError.self) { _ = try await health.check(named) }
                    do {
                        try await health.watch(Grpc_Health_V1_HealthCheckRequest()) { response in
                            for try await _ in response.messages {}
                        }
                        Issue.record("Watch should be unimplemented")
                    } catch let error as RPCError {
                        #expect(error.code == .unimplemented)
                    }
                    client.beginGracefulShutdown()
                }
            }
        }
    }
}

@Suite("Delegated Identity: shutdown", .timeLimit(.minutes(1)))
struct ShutdownTests {
    @Test("the delegated and health collectors return on graceful shutdown, process subscriptions included")
    func gracefulShutdown() async throws {
        try await withTemporaryDirectory { directory in
            let proc = FakeProc(root: directory + "/proc")
            try proc.add(pid: 4242, name: "worker", startTime: 100)
            let worker = SimulatedWorkload(
                spiffeID: ProcessSubscriptionTests.workerID, selectors: ["k8s:ns:jobs"], pid: 4242)
            let node = nodeConfiguration(directory: directory, workloads: [worker, Workloads.payments])
            try await withSimulator(node) { _ in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!,
                    subscriptions: [
                        Workloads.paymentsSubscription,
                        DelegatedSubscription(name: "workers", target: .processName("worker")),
                    ],
                    procRoot: proc.root, rescan: 30)
                let delegated = DelegatedIdentityCollector(configuration: configuration, context: exporter.context)
                let health = AgentHealthCollector(
                    configuration: AgentHealthConfiguration(
                        address: .unix(path: node.socketPath), interval: .seconds(30)),
                    context: exporter.context)
                // As the application runs them: the connections first (they stop last).
                let group = ServiceGroup(
                    configuration: .init(
                        services: [exporter.context.connections, delegated, health], gracefulShutdownSignals: [],
                        logger: quietLogger))
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    try await eventually("both subscriptions are synced") {
                        exporter.metrics.unsyncedSources().isEmpty
                            && exporter.registry.value(MetricCatalog.agentHealthy, ["workload_api"]) == 1
                    }
                    await group.triggerGracefulShutdown()
                    // run() returns without any task being cancelled.
                    try await tasks.next()
                }
            }
        }
    }
}
