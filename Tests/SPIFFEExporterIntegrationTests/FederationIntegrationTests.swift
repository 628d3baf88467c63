import ExporterTestKit
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
@testable import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import Synchronization
import TestKit
import Testing
import WorkloadAPISimulator
import X509

/// A federation bundle endpoint on 127.0.0.1: TLS with the given certificate, then every request
/// gets the current ``Answer``.
final class BundleEndpointServer: Sendable {
    enum Answer: Sendable {
        /// The whole response, bytes as written.
        case raw([UInt8])
        /// A 200 head without Content-Length, then `total` bytes of body in 64 KiB chunks.
        case endlessBody(total: Int)
        /// Accepts, completes TLS, never answers.
        case silent
    }

    let port: Int
    private let channel: any Channel
    private let box: AnswerBox

    var current: Answer {
        get { box.current }
        set { box.current = newValue }
    }

    private init(port: Int, channel: any Channel, box: AnswerBox) {
        self.port = port
        self.channel = channel
        self.box = box
    }

    /// `svid` `nil`: plain TCP, no TLS at all.
    static func start(serving svid: IssuedSVID?, answer initial: Answer) async throws -> BundleEndpointServer {
        let context: NIOSSLContext?
        if let svid {
            let chain = try svid.chain.map {
                try NIOSSLCertificate(bytes: Array(try $0.serializeAsPEM().pemString.utf8), format: .pem)
            }
            let key = try NIOSSLPrivateKey(bytes: Array(svid.keyPEM.utf8), format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            context = try NIOSSLContext(configuration: tls)
        } else {
            context = nil
        }
        let box = AnswerBox(initial)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let context { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                    try child.pipeline.syncOperations.addHandler(AnswerHandler(answer: box.current))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = try #require(channel.localAddress?.port)
        return BundleEndpointServer(port: port, channel: channel, box: box)
    }

    func stop() { channel.close(promise: nil) }

    private final class AnswerBox: Sendable {
        private let answer: Mutex<Answer>
        init(_ initial: Answer) { answer = Mutex(initial) }
        var current: Answer {
            get { answer.withLock { $0 } }
            set { answer.withLock { $0 = newValue } }
        }
    }

    /// Answers once the request has arrived (a GET without a body fits in one read here).
    private final class AnswerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let answer: Answer
        var answered = false

        init(answer: Answer) { self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            answered = true
            switch answer {
            case .raw(let bytes):
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes))).whenComplete { _ in
                    bound.value.close(promise: nil)
                }
            case .endlessBody(let total):
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                context.write(wrapOutboundOut(context.channel.allocator.buffer(string: head)), promise: nil)
                let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 64 << 10)
                for _ in 0..<(total / chunk.count) {
                    context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: chunk)), promise: nil)
                }
                context.flush()
            case .silent:
                break
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// An adjustable wall clock for `CollectorContext.now`.
final class SettableNow: Sendable {
    private let value: Mutex<Date>
    init(_ start: Date) { value = Mutex(start) }
    var current: Date {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// The federation collector against a real loopback HTTPS endpoint: the bundle, its rotation as
/// seen by the consistency families, and every kind of bad endpoint counted by reason. Wall-clock
/// time is injected (bundle roots and https_spiffe SVIDs around the fixed reference time; only the
/// Web PKI server certificates are made around now, as NIO SSL checks them against the host's
/// clock); the fetch deadline runs on a
/// manual clock, advanced only by the tests that drive time (timeout, refetch, start-up wait).
@Suite(.timeLimit(.minutes(2))) struct FederationIntegrationTests {
    static let partner = "partner.test"
    static let labels = ["source": "partner", "trust_domain": partner]

    static func channel(_ source: String) -> [String: String] { ["source": source, "trust_domain": partner] }

    /// A JWK Set per the SPIFFE Trust Domain and Bundle spec.
    static func jwks(_ roots: [Certificate], sequence: Int? = nil, hint: Int? = nil, kids: [String] = []) -> String {
        var keys = roots.map { root in
            #"{"kty":"EC","use":"x509-svid","crv":"P-256","x5c":["\#(Data(SVIDFactory.der(root)).base64EncodedString())"]}"#
        }
        keys += kids.map { #"{"kty":"EC","use":"jwt-svid","kid":"\#($0)","crv":"P-256","x":"AA","y":"AA"}"# }
        var members = [#""keys":[\#(keys.joined(separator: ","))]"#]
        if let sequence { members.append(#""spiffe_sequence":\#(sequence)"#) }
        if let hint { members.append(#""spiffe_refresh_hint":\#(hint)"#) }
        return "{" + members.joined(separator: ",") + "}"
    }

    static func response(_ body: String, status: String = "200 OK", headers: [String] = []) -> BundleEndpointServer.Answer {
        let head = ["HTTP/1.1 \(status)", "Content-Type: application/json", "Content-Length: \(body.utf8.count)", "Connection: close"]
            + headers
        return .raw(Array((head.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8))
    }

    /// A Web PKI endpoint for `https://localhost` (its CA given as `ca_file`), certificates around
    /// now as the TLS stack checks them against the wall clock.
    struct WebEndpoint {
        let server: BundleEndpointServer
        let caFile: String

        func configuration(name: String = "partner", caFile: String? = nil) throws -> FederationEndpointConfiguration {
            try FederationEndpointConfiguration(
                name: name, trustDomain: FederationIntegrationTests.partner, url: "https://localhost:\(server.port)/bundle",
                profile: .httpsWeb, caFile: caFile ?? self.caFile)
        }
    }

    static func withWebEndpoint<T>(_ answer: BundleEndpointServer.Answer, _ body: (WebEndpoint) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { dir in
            let web = try TestCA(trustDomain: "web.test", validity: .aroundNow)
            let caFile = dir + "/web-ca.pem"
            try web.bundlePEM.write(toFile: caFile, atomically: true, encoding: .utf8)
            let server = try await BundleEndpointServer.start(serving: try web.server(path: "/bundle-endpoint"), answer: answer)
            defer { server.stop() }
            return try await body(WebEndpoint(server: server, caFile: caFile))
        }
    }

    static func collector(
        _ endpoint: FederationEndpointConfiguration, _ exporter: Exporter, clock: ManualClock = ManualClock()
    ) -> FederationCollector<ManualClock> {
        FederationCollector(
            configuration: FederationCollectorConfiguration(endpoint: endpoint, timeout: .seconds(5)),
            context: exporter.context, clock: clock)
    }

    @Test func aGoodBundleThenARotationTheWorkloadAPIHasNotSeen() async throws {
        let old = try TestCA(trustDomain: Self.partner)
        let next = try TestCA(trustDomain: Self.partner)
        let now = SettableNow(referenceTime)
        let exporter = Exporter(now: { now.current })
        // The agent delivers partner.test's bundle as a federated bundle.
        exporter.store.replaceBundles(source: "workload_api", bundles: [Self.partner: old.bundle])
        try await Self.withWebEndpoint(Self.response(Self.jwks([old.root.certificate], sequence: 1, hint: 60, kids: ["k1"]))) {
            endpoint in
            let collector = Self.collector(try endpoint.configuration(), exporter)
            let before = await exporter.scrape(now: referenceTime)
            #expect(before.value("spiffe_federation_bundle_up", Self.labels) == 0)
            #expect(before.samples("spiffe_federation_bundle_failures_total", ["source": "partner"]).count
                == FederationBundleFailureReason.allCases.count)

            #expect(await collector.refresh() == 60)
            let first = await exporter.scrape(now: referenceTime)
            #expect(first.value("spiffe_federation_bundle_up", Self.labels) == 1)
            #expect(first.value("spiffe_federation_bundle_sequence", Self.labels) == 1)
            #expect(first.value("spiffe_federation_bundle_refresh_hint_seconds", Self.labels) == 60)
            #expect(first.value("spiffe_federation_bundle_last_update_timestamp_seconds", Self.labels) == referenceTime.timeIntervalSince1970)
            #expect(
                first.value("spiffe_federation_bundle_earliest_expiry_timestamp_seconds", Self.labels)
                    == old.notAfter.timeIntervalSince1970)
            #expect(first.value("spiffe_trust_bundle_consistent", ["trust_domain": Self.partner]) == 1)
            #expect(first.samples("spiffe_federation_bundle_failures_total").allSatisfy { $0.value == 0 })
            #expect(exporter.board.health("partner")?.kind == .federation)
            #expect(exporter.board.health("partner")?.isHealthy == true)

            // The partner adds its next CA; the agent still delivers the old bundle.
            endpoint.server.current = Self.response(
                Self.jwks([old.root.certificate, next.root.certificate], sequence: 2, hint: 3, kids: ["k1"]))
            now.current = at(100)
            // A hint of 3 s is bounded to 30 s.
            #expect(await collector.refresh() == 30)
            let rotated = await exporter.scrape(now: at(100))
            #expect(rotated.value("spiffe_federation_bundle_sequence", Self.labels) == 2)
            #expect(rotated.value("spiffe_federation_bundle_last_update_timestamp_seconds", Self.labels) == at(100).timeIntervalSince1970)
            #expect(rotated.value("spiffe_trust_bundle_consistent", ["trust_domain": Self.partner]) == 0)
            #expect(rotated.value("spiffe_trust_bundle_missing_roots", Self.channel("workload_api")) == 1)
            #expect(rotated.value("spiffe_trust_bundle_missing_roots", Self.channel("partner")) == 0)
            let behind = await exporter.scrape(now: at(400))
            #expect(behind.value("spiffe_trust_bundle_behind_seconds", Self.channel("workload_api")) == 300)
            #expect(behind.value("spiffe_trust_bundle_behind_seconds", Self.channel("partner")) == 0)
            let status = await exporter.metrics.status(now: at(400))
            let rows = status.check.identities.filter { $0.kind == CheckEvaluator.trustBundleKind }
            #expect(rows.map(\.source) == ["workload_api"])
            #expect(rows.first?.summary.contains("partner hold") == true, "\(rows.first?.summary ?? "-")")
            #expect(status.sources.contains { $0.source == "partner" && $0.kind == .federation })
        }
    }

    static let faults: [(String, BundleEndpointServer.Answer, FederationBundleFailureReason)] = [
        ("garbage x5c", response(#"{"keys":[{"kty":"EC","use":"x509-svid","x5c":["bm90IGEgY2VydGlmaWNhdGU="]}]}"#), .malformed),
        ("x5c not base64", response(#"{"keys":[{"kty":"EC","use":"x509-svid","x5c":["%%%"]}]}"#), .malformed),
        ("not JSON", response("<html>maintenance</html>"), .malformed),
        ("not HTTP", .raw(Array("garbage that is no HTTP response\r\n\r\n".utf8)), .malformed),
        ("a 100 MB Content-Length", .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n{".utf8)), .bodyTooLarge),
        ("an 8 MiB body without length", .endlessBody(total: 8 << 20), .bodyTooLarge),
        ("a redirect", response("", status: "302 Found", headers: ["Location: /bundle"]), .httpStatus),
        ("a 404", response("not found", status: "404 Not Found"), .httpStatus),
    ]

    @Test(arguments: 0..<faults.count) func aBadAnswerIsCountedByReasonAndKeepsTheLastGoodBundle(_ index: Int) async throws {
        let (_, answer, reason) = Self.faults[index]
        let partner = try TestCA(trustDomain: Self.partner)
        let exporter = Exporter(now: { referenceTime })
        try await Self.withWebEndpoint(Self.response(Self.jwks([partner.root.certificate], sequence: 7))) { endpoint in
            let collector = Self.collector(try endpoint.configuration(), exporter)
            #expect(try await collector.fetch().get().sequence == 7)
            _ = await collector.refresh()
            endpoint.server.current = answer
            let delay = await collector.refresh()
            #expect(delay >= 30 && delay <= 300)
            let scrape = await exporter.scrape(now: referenceTime)
            #expect(scrape.value("spiffe_federation_bundle_failures_total", ["source": "partner", "reason": reason.rawValue]) == 1)
            #expect(scrape.samples("spiffe_federation_bundle_failures_total").map(\.value).reduce(0, +) == 1)
            #expect(scrape.value("spiffe_federation_bundle_up", Self.labels) == 0)
            // The last good bundle stays: still sequence 7, still a channel.
            #expect(scrape.value("spiffe_federation_bundle_sequence", Self.labels) == 7)
            #expect(exporter.store.federationState(source: "partner")?.document?.roots.certificates.count == 1)
            #expect(exporter.board.health("partner")?.lastFailureReason == reason.rawValue)
            #expect(exporter.board.health("partner")?.up == false)
        }
    }

    @Test func anEndpointServingAnotherTrustDomainIsCounted() async throws {
        let other = try TestCA(trustDomain: "other.test")
        let exporter = Exporter(now: { referenceTime })
        try await Self.withWebEndpoint(Self.response(Self.jwks([other.root.certificate]))) { endpoint in
            let collector = Self.collector(try endpoint.configuration(), exporter)
            _ = await collector.refresh()
            #expect(exporter.registry.value(MetricCatalog.federationFailures, ["partner", "wrong_trust_domain"]) == 1)
            #expect(exporter.store.federationState(source: "partner")?.document == nil)
            let scrape = await exporter.scrape(now: referenceTime)
            #expect(scrape.value("spiffe_federation_bundle_up", Self.labels) == 0)
            #expect(!scrape.has("spiffe_federation_bundle_sequence"))
            #expect(!scrape.has("spiffe_trust_bundle_consistent"))
        }
    }

    @Test func webPKIWithoutTheEndpointsCAIsUntrusted() async throws {
        try await withTemporaryDirectory { dir in
            let partner = try TestCA(trustDomain: Self.partner)
            let stranger = try TestCA(trustDomain: "stranger.test", validity: .aroundNow)
            let strangerFile = dir + "/stranger.pem"
            try stranger.bundlePEM.write(toFile: strangerFile, atomically: true, encoding: .utf8)
            let exporter = Exporter(now: { referenceTime })
            try await Self.withWebEndpoint(Self.response(Self.jwks([partner.root.certificate]))) { endpoint in
                // System roots, then a ca_file with another CA, then a ca_file that does not exist.
                let system = try FederationEndpointConfiguration(
                    name: "partner", trustDomain: Self.partner, url: "https://localhost:\(endpoint.server.port)/")
                // The certificate names localhost, not 127.0.0.1: the host check fails.
                let byAddress = try FederationEndpointConfiguration(
                    name: "partner", trustDomain: Self.partner, url: "https://127.0.0.1:\(endpoint.server.port)/",
                    caFile: endpoint.caFile)
                let cases = [
                    system, try endpoint.configuration(caFile: strangerFile), try endpoint.configuration(caFile: dir + "/missing.pem"),
                    byAddress,
                ]
                for configuration in cases {
                    let result = await Self.collector(configuration, exporter).fetch()
                    #expect(result.failureReason == .untrusted, "\(result)")
                }
            }
        }
    }

    @Test func aServerThatDoesNotSpeakTLSIsATLSFailure() async throws {
        let server = try await BundleEndpointServer.start(serving: nil, answer: Self.response("{}"))
        defer { server.stop() }
        let exporter = Exporter(now: { referenceTime })
        let configuration = try FederationEndpointConfiguration(
            name: "partner", trustDomain: Self.partner, url: "https://127.0.0.1:\(server.port)/")
        #expect(await Self.collector(configuration, exporter).fetch().failureReason == .tls)
    }

    @Test func theRequestNamesTheHostAsHTTPWantsIt() throws {
        func host(_ url: String) throws -> String? {
            let endpoint = try FederationEndpointConfiguration(name: "p", trustDomain: Self.partner, url: url)
            return FederationBundleFetcher.request(endpoint).headers.first(name: "Host")
        }
        #expect(try host("https://bundle.partner.test/x?y=1") == "bundle.partner.test")
        #expect(try host("https://bundle.partner.test:8443/") == "bundle.partner.test:8443")
        #expect(try host("https://[::1]:8443/") == "[::1]:8443")
        #expect(FederationBundleFetcher.address("[::1]") == "::1")
        #expect(FederationBundleFetcher.address("127.0.0.1") == "127.0.0.1")
        let request = FederationBundleFetcher.request(
            try FederationEndpointConfiguration(name: "p", trustDomain: Self.partner, url: "https://b.partner.test/x?y=1"))
        #expect(request.uri == "/x?y=1")
        #expect(request.method == .GET)
    }

    @Test func nothingListeningIsAConnectFailure() async throws {
        // A port just released by a listener.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        try await listener.close()
        let exporter = Exporter(now: { referenceTime })
        let configuration = try FederationEndpointConfiguration(
            name: "partner", trustDomain: Self.partner, url: "https://127.0.0.1:\(port)/")
        #expect(await Self.collector(configuration, exporter).fetch().failureReason == .connect)
    }

    @Test func anEndpointThatNeverAnswersTimesOut() async throws {
        let partner = try TestCA(trustDomain: Self.partner)
        let exporter = Exporter(now: { referenceTime })
        try await Self.withWebEndpoint(.silent) { endpoint in
            _ = partner
            let clock = ManualClock()
            let collector = Self.collector(try endpoint.configuration(), exporter, clock: clock)
            async let result = collector.refresh()
            // The deadline is the only sleeper; moving the clock past it ends the fetch.
            try await clock.waitForSleepers(1)
            clock.advance(by: .seconds(5))
            _ = await result
            #expect(exporter.registry.value(MetricCatalog.federationFailures, ["partner", "timeout"]) == 1)
            #expect(exporter.board.health("partner")?.lastFailureReason == "timeout")
        }
    }

    @Test func theRunLoopRefetchesAtTheBoundedHint() async throws {
        let partner = try TestCA(trustDomain: Self.partner)
        let exporter = Exporter(now: { referenceTime })
        try await Self.withWebEndpoint(Self.response(Self.jwks([partner.root.certificate], sequence: 1, hint: 7200))) {
            endpoint in
            let clock = ManualClock()
            let collector = Self.collector(try endpoint.configuration(), exporter, clock: clock)
            try await exporter.running([collector]) {
                try await eventually("the first fetch and the wait after it") {
                    exporter.board.health("partner")?.isHealthy == true && clock.requestedSleeps.contains(.seconds(3600))
                }
                // A two-hour hint waits one hour; the next bundle comes after it. (The fetch's own
                // deadline has ended with the fetch: the one sleeper is the wait.)
                endpoint.server.current = Self.response(Self.jwks([partner.root.certificate], sequence: 2, hint: 120))
                try await clock.waitForSleepers(1)
                clock.advance(by: .seconds(3600))
                try await eventually("the second fetch, waiting its 120 s hint") {
                    exporter.store.federationState(source: "partner")?.document?.sequence == 2
                        && clock.requestedSleeps.contains(.seconds(120))
                }
            }
        }
    }

    @Test func checkNamesTheEndpointHoldingTheRootTheWorkloadAPILacks() async throws {
        let old = try TestCA(trustDomain: Self.partner)
        let next = try TestCA(trustDomain: Self.partner)
        let store = IdentityStore()
        store.replaceBundles(source: "workload_api", bundles: [Self.partner: old.bundle])
        try await Self.withWebEndpoint(Self.response(Self.jwks([old.root.certificate, next.root.certificate], sequence: 2))) {
            endpoint in
            let good = try endpoint.configuration()
            let failing = try FederationEndpointConfiguration(
                name: "elsewhere", trustDomain: "elsewhere.test", url: "https://localhost:\(endpoint.server.port)/",
                caFile: endpoint.caFile)
            let failures = await FederationCheck.run(endpoints: [good, failing], timeout: .seconds(10), store: store)
            #expect(failures.map(\.source) == ["elsewhere"])
            #expect(failures.first?.reason == "wrong_trust_domain")
            // The old root is unexpired at the reference time, where these CAs are valid.
            let rows = await BundleConsistencyCheck.run(store: store, now: referenceTime)
            #expect(rows.map(\.source) == ["workload_api"])
            #expect(rows.first?.summary.hasPrefix("lacks 1 root that partner hold") == true, "\(rows.map(\.summary))")
        }
    }

    // MARK: https_spiffe

    /// partner.test's bundle endpoint presenting `served` (issued by `issuer`), verified against the
    /// partner bundle the Workload API delivered.
    static func spiffeFetch(
        held: TestCA, issuer: TestCA, served path: String, expected: String
    ) async throws -> (Result<FederationBundleDocument, FederationBundleFailure>, Exporter) {
        let exporter = Exporter(now: { referenceTime })
        exporter.store.replaceBundles(source: "workload_api", bundles: [Self.partner: held.bundle])
        let server = try await BundleEndpointServer.start(
            serving: try issuer.svid(path, lifetime: 3600), answer: response(jwks([held.root.certificate], sequence: 3)))
        defer { server.stop() }
        let configuration = try FederationEndpointConfiguration(
            name: "partner", trustDomain: Self.partner, url: "https://127.0.0.1:\(server.port)/", profile: .httpsSPIFFE,
            endpointSPIFFEID: expected)
        let collector = Self.collector(configuration, exporter)
        let result = await collector.fetch()
        collector.record(result, now: referenceTime)
        return (result, exporter)
    }

    @Test func httpsSPIFFEAcceptsTheEndpointSVIDChainingToTheHeldBundle() async throws {
        let partner = try TestCA(trustDomain: Self.partner)
        let (result, exporter) = try await Self.spiffeFetch(
            held: partner, issuer: partner, served: "/spire/server", expected: "spiffe://partner.test/spire/server")
        #expect(try result.get().sequence == 3)
        #expect(exporter.board.health("partner")?.isHealthy == true)
    }

    @Test func httpsSPIFFEWaitsForTheBundleItIsVerifiedWithBeforeTheFirstFetch() async throws {
        let partner = try TestCA(trustDomain: Self.partner)
        let exporter = Exporter(now: { referenceTime })
        // A Workload API source that has not delivered yet.
        exporter.board.register("workload_api", kind: .workloadAPI, now: referenceTime)
        let server = try await BundleEndpointServer.start(
            serving: try partner.svid("/spire/server", lifetime: 3600), answer: Self.response(Self.jwks([partner.root.certificate])))
        defer { server.stop() }
        let clock = ManualClock()
        let collector = Self.collector(
            try FederationEndpointConfiguration(
                name: "partner", trustDomain: Self.partner, url: "https://127.0.0.1:\(server.port)/", profile: .httpsSPIFFE,
                endpointSPIFFEID: "spiffe://partner.test/spire/server"), exporter, clock: clock)
        try await exporter.running([collector]) {
            try await clock.waitForSleepers(1)
            #expect(clock.requestedSleeps == [.seconds(1)])
            #expect(exporter.registry.value(MetricCatalog.federationFailures, ["partner", "untrusted"]) == 0)
            exporter.store.replaceBundles(source: "workload_api", bundles: [Self.partner: partner.bundle])
            clock.advance(by: .seconds(1))
            try await eventually("the first fetch, trusted") { exporter.board.health("partner")?.isHealthy == true }
            #expect(exporter.registry.value(MetricCatalog.federationFailures, ["partner", "untrusted"]) == 0)
        }
    }

    @Test func httpsSPIFFEWithAnotherEndpointIDIsAMismatch() async throws {
        let partner = try TestCA(trustDomain: Self.partner)
        let (result, exporter) = try await Self.spiffeFetch(
            held: partner, issuer: partner, served: "/impostor", expected: "spiffe://partner.test/spire/server")
        #expect(result.failureReason == .endpointSPIFFEIDMismatch)
        #expect(exporter.registry.value(MetricCatalog.federationFailures, ["partner", "endpoint_spiffe_id_mismatch"]) == 1)
    }

    @Test func httpsSPIFFEWithAChainToAnotherCAIsUntrusted() async throws {
        let held = try TestCA(trustDomain: Self.partner)
        let rogue = try TestCA(trustDomain: Self.partner)
        let (result, exporter) = try await Self.spiffeFetch(
            held: held, issuer: rogue, served: "/spire/server", expected: "spiffe://partner.test/spire/server")
        #expect(result.failureReason == .untrusted)
        #expect(exporter.registry.value(MetricCatalog.federationFailures, ["partner", "untrusted"]) == 1)
    }
}

/// The simulator's federation bundle endpoint (https_spiffe) next to its Workload API: the
/// endpoint's SVID is verified against the federated bundle the agent delivered, and a CA rotation
/// of the partner shows the agent behind the endpoint until it delivers the new bundle.
@Suite(.timeLimit(.minutes(2))) struct SimulatedFederationEndpointTests {
    static let partner = "partner.example"

    static func channel(_ source: String) -> [String: String] { ["source": source, "trust_domain": partner] }

    @Test func rotationAndFaultsOfTheSimulatedEndpoint() async throws {
        try await withTemporaryDirectory { dir in
            let socket = dir + "/agent.sock"
            try await withSimulator(SimulatorConfiguration(socketPath: socket, federatedTrustDomains: [Self.partner])) {
                simulator in
                let endpoint = try await FederationBundleEndpoint.start(simulator: simulator, trustDomain: Self.partner)
                let exporter = Exporter()
                var configuration = collectorConfiguration(socketPath: socket)
                configuration.jwtAudiences = [["demo"]]
                let workloadAPI = WorkloadAPICollector(configuration: configuration, context: exporter.context)
                let federation = FederationCollector(
                    configuration: FederationCollectorConfiguration(
                        endpoint: try FederationEndpointConfiguration(
                            name: "partner", trustDomain: Self.partner, url: endpoint.url, profile: .httpsSPIFFE,
                            endpointSPIFFEID: endpoint.endpointSPIFFEID)),
                    context: exporter.context, clock: ManualClock())
                try await exporter.running([workloadAPI]) {
                    try await eventually("the agent delivered the partner's bundles") {
                        exporter.store.heldTrustBundle(trustDomain: Self.partner) != nil
                            && !exporter.store.jwtBundles(source: "workload_api").isEmpty
                    }
                    #expect(try await federation.fetch().get().sequence == 1)
                    _ = await federation.refresh()
                    let agreed = await exporter.scrape()
                    #expect(agreed.value("spiffe_federation_bundle_up", ["source": "partner"]) == 1)
                    #expect(agreed.value("spiffe_trust_bundle_consistent", ["trust_domain": Self.partner]) == 1)

                    try simulator.prepareNextFederatedCA(trustDomain: Self.partner)
                    _ = await federation.refresh()
                    let behind = await exporter.scrape()
                    #expect(behind.value("spiffe_federation_bundle_sequence", ["source": "partner"]) == 2)
                    #expect(behind.value("spiffe_trust_bundle_missing_roots", Self.channel("workload_api")) == 1)

                    simulator.deliverFederatedBundle(trustDomain: Self.partner)
                    try await eventually("the agent delivers the new bundle") {
                        await exporter.scrape().value("spiffe_trust_bundle_consistent", ["trust_domain": Self.partner]) == 1
                    }

                    let faults: [(FederationEndpointFault, FederationBundleFailureReason)] = [
                        (.garbageX5C, .malformed), (.hugeBody, .bodyTooLarge), (.redirectLoop, .httpStatus),
                        (.wrongTrustDomain, .wrongTrustDomain),
                    ]
                    for (fault, reason) in faults {
                        simulator.setFederationEndpointFault(fault)
                        #expect(await federation.fetch().failureReason == reason, "\(fault)")
                    }
                }
                await endpoint.stop()
            }
        }
    }
}

extension Result where Failure == FederationBundleFailure {
    var failureReason: FederationBundleFailureReason? {
        if case .failure(let failure) = self { return failure.reason }
        return nil
    }
}
