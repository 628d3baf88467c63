import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import TestKit
import Testing
import WorkloadAPISimulator

/// Every simulator fault mode, and every way the socket itself can be unusable, must end up as the
/// documented `reason` (connection failures) or `problem` (identity checks), and the collector must
/// recover once the agent is healthy again.
@Suite("Workload API collector: faults", .timeLimit(.minutes(1)))
struct CollectorFaultTests {
    static let workload = "spiffe://example.org/workload"

    /// Waits until the healthy SVID is exported as valid with no problem series left.
    static func expectRecovered(_ exporter: Exporter, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await eventually(
            "the collector recovers: up, \(workload) valid and no problem series", sourceLocation: sourceLocation
        ) {
            let scrape = await exporter.scrape()
            return exporter.up == 1
                && scrape.value("spiffe_x509_svid_valid", ["spiffe_id": workload]) == 1
                && scrape.samples("spiffe_x509_svid_valid").count == 1
                && scrape.samples("spiffe_x509_svid_problem").isEmpty
        }
    }

    /// A healthy agent and a collector that has synced with it, in a fresh directory.
    static func withHealthyAgent(
        _ body: (WorkloadAPISimulator, Exporter, String) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            try await withSimulator(SimulatorConfiguration(socketPath: socket)) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await expectRecovered(exporter)
                    try await body(simulator, exporter, socket)
                }
            }
        }
    }

    // MARK: Faults in the SVIDs themselves

    struct IdentityFault: Sendable, CustomTestStringConvertible {
        var fault: SimulatorFault
        var spiffeID: String
        var problem: SVIDProblem
        var malformed: Bool
        var testDescription: String { "\(fault) → \(problem.rawValue)" }
    }

    static let identityFaults: [IdentityFault] = [
        IdentityFault(fault: .garbageDER, spiffeID: workload, problem: .parseError, malformed: true),
        IdentityFault(fault: .expiredSVID, spiffeID: workload, problem: .expired, malformed: false),
        IdentityFault(
            fault: .wrongTrustDomain, spiffeID: "spiffe://wrong-example.org/workload", problem: .trustDomainMismatch,
            malformed: false),
        IdentityFault(fault: .mismatchedKey, spiffeID: workload, problem: .keyMismatch, malformed: false),
        // An agent serving no CA for its own trust domain: nothing to verify the chain against, and
        // an empty mandatory `bundle` field, which is also a malformed response.
        IdentityFault(fault: .emptyBundle, spiffeID: workload, problem: .bundleMissing, malformed: true),
    ]

    @Test(
        "a bad SVID pushed on an open stream is reported as a problem, and the next good one clears it",
        arguments: identityFaults)
    func identityFault(_ testCase: IdentityFault) async throws {
        try await Self.withHealthyAgent { simulator, exporter, _ in
            simulator.setFault(testCase.fault)
            let scrape = try await eventually("problem \(testCase.problem.rawValue) on \(testCase.spiffeID)") {
                () async -> Scrape? in
                let scrape = await exporter.scrape()
                let problem = scrape.value(
                    "spiffe_x509_svid_problem",
                    ["spiffe_id": testCase.spiffeID, "reason": testCase.problem.rawValue])
                return problem == 1 ? scrape : nil
            }
            #expect(scrape.value("spiffe_x509_svid_valid", ["spiffe_id": testCase.spiffeID]) == 0)
            #expect(scrape.samples("spiffe_x509_svid_valid").count == 1, "the replaced identity must vanish")
            if testCase.malformed {
                #expect(exporter.failures(.malformedResponse) >= 1)
            } else {
                #expect(exporter.failures(.malformedResponse) == 0)
            }
            // A bad SVID is data, not a broken stream.
            #expect(exporter.up == 1)
            try await exporter.expectValidExposition()
            #expect(simulator.statistics.calls["FetchX509SVID"] == 1)

            simulator.setFault(.none)
            try await Self.expectRecovered(exporter)
        }
    }

    @Test("a message with no SVID is discarded and counted; the identities held stay (a response MUST hold one)")
    func emptySVIDList() async throws {
        try await Self.withHealthyAgent { simulator, exporter, _ in
            let malformedBefore = exporter.failures(.malformedResponse)
            simulator.setFault(.emptySVIDList)
            try await eventually("malformed_response counted") {
                exporter.failures(.malformedResponse) > malformedBefore
            }
            let scrape = await exporter.scrape()
            #expect(scrape.value("spiffe_x509_svid_valid", ["spiffe_id": Self.workload]) == 1)
            #expect(scrape.samples("spiffe_x509_svid_problem").isEmpty)
            #expect(exporter.up == 1)
            try await exporter.expectValidExposition()
            simulator.setFault(.none)
            try simulator.rotate()
            try await Self.expectRecovered(exporter)
        }
    }

    @Test("a federated trust domain missing from the next messages leaves /metrics (messages are full state)")
    func removedFederationIsRedacted() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(socketPath: socket, federatedTrustDomains: ["partner.example"])
            try await withSimulator(configuration) { simulator in
                let exporter = Exporter()
                var collector = collectorConfiguration(socketPath: socket)
                collector.jwtAudiences = [["db"]]
                try await withCollector(collector, feeding: exporter) {
                    let partner = ["trust_domain": "partner.example"]
                    try await eventually("the partner's X.509 and JWT bundles") {
                        let scrape = await exporter.scrape()
                        return scrape.value("spiffe_trust_bundle_certificates", partner) == 1
                            && scrape.value("spiffe_jwt_bundle_keys", partner) == 1
                    }
                    simulator.removeFederation(trustDomain: "partner.example")
                    try await eventually("the partner's bundles gone, the own ones kept") {
                        let scrape = await exporter.scrape()
                        return scrape.samples("spiffe_trust_bundle_certificates", partner).isEmpty
                            && scrape.samples("spiffe_trust_bundle_ca_expiry_timestamp_seconds", partner).isEmpty
                            && scrape.samples("spiffe_jwt_bundle_keys", partner).isEmpty
                            && scrape.value("spiffe_trust_bundle_certificates", ["trust_domain": "example.org"]) == 1
                    }
                    #expect(exporter.up == 1)
                }
            }
        }
    }

    @Test("garbage DER keeps the identity, labelled by the spiffe_id field, with parse_error only")
    func garbageDERDetails() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(socketPath: socket, fault: .garbageDER)
            try await withSimulator(configuration) { _ in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await eventually("malformed_response counted and the identity stored") {
                        exporter.failures(.malformedResponse) >= 1 && !exporter.entries.isEmpty
                    }
                    let report = try #require(exporter.entries.first?.report)
                    #expect(report.spiffeID == Self.workload)
                    #expect(report.leaf == nil)
                    #expect(report.problems(at: Date()) == [.parseError])
                    // Readiness only needs a definite answer, even a bad one.
                    #expect(exporter.metrics.unsyncedSources().isEmpty)
                    let scrape = await exporter.scrape()
                    #expect(scrape.samples("spiffe_x509_svid_expiry_timestamp_seconds").isEmpty)
                }
            }
        }
    }

    // MARK: Faults of the connection or the call

    @Test("PermissionDenied counts no_identity, withdraws identities, and recovers")
    func noIdentity() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(socketPath: socket, fault: .noIdentity)
            try await withSimulator(configuration) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await eventually("no_identity counted with code PermissionDenied") {
                        exporter.failures(.noIdentity) >= 1
                            && exporter.requests("FetchX509SVID", code: "PermissionDenied") >= 1
                    }
                    // "No identity" is a definite answer: the exporter is ready and reports nothing.
                    #expect(exporter.metrics.unsyncedSources().isEmpty)
                    #expect(exporter.up == 0)
                    #expect(await exporter.scrape().samples("spiffe_x509_svid_valid").isEmpty)
                    try await exporter.expectValidExposition()
                    let scrape = await exporter.scrape()
                    #expect(
                        scrape.value(
                            "spiffe_workload_api_requests_total",
                            ["source": "workload_api", "rpc": "FetchX509SVID", "code": "PermissionDenied"]) ?? 0 >= 1)

                    simulator.setFault(.none)
                    try await Self.expectRecovered(exporter)

                    // Losing the registration entry on an open stream withdraws the identity.
                    let before = exporter.failures(.noIdentity)
                    simulator.setFault(.noIdentity)
                    try await eventually("the identity is withdrawn") {
                        exporter.failures(.noIdentity) > before && exporter.entries.isEmpty
                    }
                    #expect(await exporter.scrape().samples("spiffe_x509_svid_valid").isEmpty)
                    #expect(exporter.failures(.unavailable) == 0)

                    simulator.setFault(.none)
                    try await Self.expectRecovered(exporter)
                }
            }
        }
    }

    @Test("Unavailable counts unavailable, keeps the exporter unready, and recovers")
    func unavailable() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(socketPath: socket, fault: .unavailable)
            try await withSimulator(configuration) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await eventually("unavailable counted twice") { exporter.failures(.unavailable) >= 2 }
                    #expect(exporter.requests("FetchX509SVID", code: "Unavailable") >= 1)
                    #expect(exporter.metrics.unsyncedSources() == ["workload_api"])
                    #expect(exporter.up == 0)
                    // The socket is there and accepting: this is not a socket problem.
                    #expect(exporter.failures(.socketNotFound) == 0)
                    #expect(exporter.failures(.connectionRefused) == 0)
                    try await exporter.expectValidExposition()

                    simulator.setFault(.none)
                    try await Self.expectRecovered(exporter)
                    #expect(exporter.metrics.unsyncedSources().isEmpty)
                }
            }
        }
    }

    @Test("a first response slower than firstResponseTimeout counts timeout, and recovers")
    func slowFirstResponse() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(socketPath: socket, fault: .slowFirstResponse(.seconds(5)))
            try await withSimulator(configuration) { simulator in
                let exporter = Exporter()
                let collector = collectorConfiguration(socketPath: socket, firstResponseTimeout: .milliseconds(300))
                let started = ContinuousClock.now
                try await withCollector(collector, feeding: exporter) {
                    // On a loaded machine the bundle stream may miss the 300 ms deadline too: wait for
                    // the SVID stream's own outcome.
                    try await eventually("timeout counted for FetchX509SVID") {
                        exporter.failures(.timeout) >= 1
                            && exporter.requests("FetchX509SVID", code: "DeadlineExceeded") >= 1
                    }
                    #expect(exporter.metrics.unsyncedSources() == ["workload_api"])
                    #expect(exporter.up == 0)
                    try await exporter.expectValidExposition()
                    // Waiting out each deadline is the backoff: no hammering while the agent is slow.
                    let elapsed = (ContinuousClock.now - started).seconds
                    let calls = simulator.statistics.calls["FetchX509SVID", default: 0]
                    #expect(Double(calls) <= elapsed / 0.3 + 2, "\(calls) calls in \(elapsed) s")

                    simulator.setFault(.none)
                    try await Self.expectRecovered(exporter)
                }
            }
        }
    }

    @Test("dropped streams count stream_closed and reconnect without a request storm")
    func dropStreams() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(socketPath: socket, fault: .dropStreams)
            // A message resets the backoff, so every reconnect waits at least initial/2.
            let backoff = Backoff(initial: .milliseconds(200), multiplier: 2, cap: .milliseconds(500))
            let minimumDelay = (backoff.initial / 2).seconds
            try await withSimulator(configuration) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket, backoff: backoff), feeding: exporter)
                {
                    try await eventually("stream_closed counted") { exporter.failures(.streamClosed) >= 2 }
                    #expect(await exporter.scrape().value("spiffe_x509_svid_valid", ["spiffe_id": Self.workload]) == 1)

                    let windowStart = ContinuousClock.now
                    let callsAtStart = simulator.statistics.calls["FetchX509SVID", default: 0]
                    try await eventually("the collector keeps reconnecting") {
                        simulator.statistics.calls["FetchX509SVID", default: 0] >= callsAtStart + 4
                    }
                    let window = (ContinuousClock.now - windowStart).seconds
                    let calls = simulator.statistics.calls["FetchX509SVID", default: 0] - callsAtStart
                    let allowed = Int(window / minimumDelay) + 1
                    #expect(calls <= allowed, "\(calls) calls in \(window) s; backoff allows at most \(allowed)")
                    // Each stream delivered its message before it was dropped.
                    #expect(exporter.failures(.unavailable) == 0)
                    #expect(exporter.failures(.other) == 0)
                    try await exporter.expectValidExposition()

                    simulator.setFault(.none)
                    try await eventually("streams that stay open: one subscriber per RPC and up 1") {
                        simulator.statistics.openStreams == 2 && exporter.up == 1
                    }
                    try await Self.expectRecovered(exporter)
                }
            }
        }
    }

    @Test("a first response after 500 ms is no failure, and its latency is recorded as about 500 ms")
    func slowButInTimeFirstResponse() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            let configuration = SimulatorConfiguration(
                socketPath: socket, fault: .slowFirstResponse(.milliseconds(500)))
            try await withSimulator(configuration) { simulator in
                let exporter = Exporter()
                // The default first-response timeout (10 s) leaves a 500 ms agent well inside.
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await Self.expectRecovered(exporter)
                    let scrape = await exporter.scrape()
                    let labels = ["source": "workload_api", "rpc": "FetchX509SVID"]
                    let count = try #require(scrape.value("spiffe_workload_api_request_duration_seconds_count", labels))
                    let sum = try #require(scrape.value("spiffe_workload_api_request_duration_seconds_sum", labels))
                    #expect(count == 1)
                    // At least the delay (exact timing is WatchLoopTests', on a manual clock).
                    #expect(sum >= 0.5, "recorded \(sum) s")
                    var fast = labels
                    fast["le"] = "0.25"
                    #expect(scrape.value("spiffe_workload_api_request_duration_seconds_bucket", fast) == 0)
                    #expect(exporter.failures(.timeout) == 0)
                    #expect(simulator.statistics.calls["FetchX509SVID"] == 1)
                    try await exporter.expectValidExposition()
                }
            }
        }
    }

    // MARK: The socket itself

    @Test("a socket file deleted under a live agent keeps the connection; failures then say the socket is gone")
    func socketDeletedAndRecreated() async throws {
        try await Self.withHealthyAgent { simulator, exporter, socket in
            // Unlinking the path does not close accepted connections: the open stream still
            // delivers, and nothing is counted as a failure.
            #expect(unlink(socket) == 0)
            let callsBefore = simulator.statistics.calls["FetchX509SVID", default: 0]
            try simulator.rotate()
            let rotated = try #require(simulator.currentSVIDs.first).leaf.notValidAfter.timeIntervalSince1970
            try await eventually("the rotation arrives on the stream opened before the unlink") {
                await exporter.scrape().value("spiffe_x509_svid_expiry_timestamp_seconds") == rotated
            }
            #expect(exporter.failures(.socketNotFound) == 0)

            // The agent answers Unavailable: the streams end and are reopened on the one kept
            // connection, which still reaches the agent. What is wrong for every new workload is
            // the missing path, so that is the reason counted.
            simulator.setFault(.unavailable)
            try await eventually("socket_not_found counted after the streams ended") {
                exporter.failures(.socketNotFound) >= 2 && exporter.up == 0
            }
            #expect(simulator.statistics.calls["FetchX509SVID", default: 0] > callsBefore)
            #expect(exporter.failures(.connectionRefused) == 0)
            // The identity the workload still holds stays exported while the agent is unreachable.
            #expect(await exporter.scrape().value("spiffe_x509_svid_valid", ["spiffe_id": Self.workload]) == 1)
            try await exporter.expectValidExposition()

            // The agent recreates its socket (as on restart): recovery within the backoff cap.
            simulator.setFault(.none)
            await simulator.stop()
            try await simulator.start()
            try await Self.expectRecovered(exporter)
        }
    }

    @Test("no socket file counts socket_not_found; readiness waits for the agent to appear")
    func socketNotFoundThenAgentAppears() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            try await withSimulator(SimulatorConfiguration(socketPath: socket), started: false) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await eventually("socket_not_found counted") { exporter.failures(.socketNotFound) >= 2 }
                    #expect(exporter.requests("FetchX509SVID", code: "Unavailable") >= 1)
                    #expect(exporter.failures(.connectionRefused) == 0)
                    #expect(exporter.metrics.unsyncedSources() == ["workload_api"])
                    #expect(exporter.up == 0)
                    let scrape = await exporter.scrape()
                    #expect(scrape.samples("spiffe_x509_svid_valid").isEmpty)
                    #expect(scrape.value("spiffe_workload_api_up") == 0)
                    try await exporter.expectValidExposition()

                    // The agent starts late: the collector keeps retrying and becomes ready.
                    try await simulator.start()
                    try await Self.expectRecovered(exporter)
                    #expect(exporter.metrics.unsyncedSources().isEmpty)
                }
            }
        }
    }

    @Test(
        "InvalidArgument counts invalid_argument, any other code counts other; both keep the exporter serving",
        arguments: [
            (SimulatorFault.rejectRequests, ConnectionFailureReason.invalidArgument, "InvalidArgument"),
            (SimulatorFault.unimplemented, ConnectionFailureReason.other, "Unimplemented"),
        ])
    func rejectedCalls(_ fault: SimulatorFault, _ reason: ConnectionFailureReason, _ code: String) async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            try await withSimulator(SimulatorConfiguration(socketPath: socket, fault: fault)) { _ in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await eventually("\(reason.rawValue) counted") {
                        exporter.failures(reason) >= 1 && exporter.requests("FetchX509SVID", code: code) >= 1
                    }
                    let counted = ConnectionFailureReason.allCases.filter { exporter.failures($0) > 0 }
                    #expect(counted == [reason], "reasons counted: \(counted)")
                    #expect(exporter.up == 0)
                    #expect(!exporter.metrics.unsyncedSources().isEmpty)
                    try await exporter.expectValidExposition()
                }
            }
        }
    }

    struct Impostor: Sendable, CustomTestStringConvertible {
        var name: String
        var reply: [UInt8]
        var hold: Bool
        /// Short only where the timeout is the expected outcome, so a loaded machine cannot turn
        /// a garbage reply into a timeout.
        var firstResponseTimeout: Duration
        var reason: ConnectionFailureReason
        var testDescription: String { "\(name) → \(reason.rawValue)" }
    }

    static let impostors: [Impostor] = [
        Impostor(
            name: "HTTP/1.1 and garbage, then close",
            reply: Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n\u{0}\u{FF}garbage".utf8), hold: false,
            firstResponseTimeout: .seconds(10), reason: .unavailable),
        Impostor(
            name: "accepts and never answers", reply: [], hold: true, firstResponseTimeout: .milliseconds(500),
            reason: .timeout),
    ]

    @Test("a peer on the socket that is not an agent is a counted failure, never a hang", arguments: impostors)
    func impostorOnSocket(_ impostor: Impostor) async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            try await withSimulator(SimulatorConfiguration(socketPath: socket), started: false) { simulator in
                let server = try ImpostorSocketServer(path: socket, reply: impostor.reply, hold: impostor.hold)
                let exporter = Exporter()
                let collector = collectorConfiguration(
                    socketPath: socket, firstResponseTimeout: impostor.firstResponseTimeout)
                try await withCollector(collector, feeding: exporter) {
                    let started = ContinuousClock.now
                    try await eventually("\(impostor.reason.rawValue) counted twice") {
                        exporter.failures(impostor.reason) >= 2
                    }
                    let counted = ConnectionFailureReason.allCases.filter { exporter.failures($0) > 0 }
                    #expect(counted == [impostor.reason], "reasons counted: \(counted)")
                    #expect(exporter.up == 0)
                    #expect(exporter.metrics.unsyncedSources() == ["workload_api"])
                    #expect(await exporter.scrape().samples("spiffe_x509_svid_valid").isEmpty)
                    try await exporter.expectValidExposition()
                    // Backoff between attempts: two streams per attempt, each attempt at least
                    // initial/2 after the previous one.
                    let elapsed = (ContinuousClock.now - started).seconds
                    let allowed = 2 * (Int(elapsed / (fastBackoff.initial / 2).seconds) + 2)
                    #expect(server.connections <= allowed, "\(server.connections) connections in \(elapsed) s")

                    // The real agent takes its socket back.
                    server.stop()
                    try await simulator.start()
                    try await Self.expectRecovered(exporter)
                }
                server.stop()
            }
        }
    }

    @Test("a stale socket file nobody listens on counts connection_refused")
    func connectionRefused() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            try makeStaleSocket(at: socket)
            #expect(FileManager.default.fileExists(atPath: socket))
            try await withSimulator(SimulatorConfiguration(socketPath: socket), started: false) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await eventually("connection_refused counted") { exporter.failures(.connectionRefused) >= 2 }
                    #expect(exporter.failures(.socketNotFound) == 0)
                    try await exporter.expectValidExposition()
                    #expect(exporter.metrics.unsyncedSources() == ["workload_api"])
                    #expect(exporter.up == 0)

                    // The agent comes back and replaces the stale socket, as SPIRE does.
                    try await simulator.start()
                    try await Self.expectRecovered(exporter)
                }
            }
        }
    }
}
