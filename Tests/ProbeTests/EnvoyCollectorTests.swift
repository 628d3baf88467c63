import Foundation
import NIOCore
import NIOPosix
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import ExporterTestKit
import TestKit
import Synchronization
import Testing

/// Envoy's `/certs` the way Envoy 1.40 prints one leaf (serial without leading zeros).
func envoyDetails(_ certificate: CertificateFacts, path: String = "/etc/envoy/svid.pem") -> String {
    let serial = String(certificate.serialNumber.drop { $0 == "0" })
    let sans = certificate.uriSANs.map { "{\"uri\":\"\($0)\"}" }.joined(separator: ",")
    return """
        {"path":"\(path)","serial_number":"\(serial)","subject_alt_names":[\(sans)],"days_until_expiration":"0",\
        "valid_from":"\(RFC3339.string(from: certificate.notBefore))",\
        "expiration_time":"\(RFC3339.string(from: certificate.notAfter))"}
        """
}

/// A `/certs` body of contexts (CAs, leaves).
func envoyCertsBody(_ contexts: [(ca: [CertificateFacts], chain: [CertificateFacts])]) -> String {
    let entries = contexts.map { context in
        "{\"ca_cert\":[\(context.ca.map { envoyDetails($0) }.joined(separator: ","))],"
            + "\"cert_chain\":[\(context.chain.map { envoyDetails($0) }.joined(separator: ","))]}"
    }
    return "{\"certificates\":[\(entries.joined(separator: ","))]}"
}

/// A TCP server that answers every connection with canned bytes (any HTTP answer, or none).
final class FakeEnvoyAdmin: Sendable {
    enum Behaviour: Sendable {
        /// Writes these bytes, then closes.
        case raw([UInt8])
        /// `head`, then `chunk` `count` times, each once the client has taken the one before.
        case stream(head: String, chunk: String, count: Int)
        /// Accepts and says nothing.
        case silent
    }

    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }
    var endpoint: EnvoyAdminEndpoint { EnvoyAdminEndpoint(host: "127.0.0.1", port: port) }

    init(_ behaviour: Behaviour) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Answer(behaviour))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    static func ok(_ body: String, contentType: String = "application/json") -> Behaviour {
        .raw(Array("HTTP/1.1 200 OK\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
    }

    func stop() async {
        try? await channel.close()
    }

    final class Answer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let behaviour: Behaviour
        private var request: [UInt8] = []
        private var answered = false

        init(_ behaviour: Behaviour) {
            self.behaviour = behaviour
        }

        /// Answers once the whole request head is in: closing with unread bytes would reset the
        /// connection and could drop the answer before the client reads it.
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            request += unwrapInboundIn(data).readableBytesView
            guard !answered, request.count >= 4, request.suffix(4) == Array("\r\n\r\n".utf8) else { return }
            answered = true
            answer(context)
        }

        func answer(_ context: ChannelHandlerContext) {
            switch behaviour {
            case .raw(let bytes):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes))).whenComplete { [channel = context.channel] _ in
                    channel.close(promise: nil)
                }
            case .stream(let head, let chunk, let count):
                let channel = context.channel
                channel.writeAndFlush(ByteBuffer(string: head), promise: nil)
                Self.pump(channel, chunk: ByteBuffer(string: chunk), left: count)
            case .silent:
                break
            }
        }

        /// Writes one chunk after the other, each once the previous one is taken, until the client closes.
        static func pump(_ channel: any Channel, chunk: ByteBuffer, left: Int) {
            guard left > 0, channel.isActive else { return }
            channel.writeAndFlush(chunk).whenSuccess { pump(channel, chunk: chunk, left: left - 1) }
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct EnvoyCollectorTests {
    let now = referenceTime
    let root: IssuedCA
    let old: IssuedSVID
    let new: IssuedSVID
    static let id = "spiffe://example.org/envoy/edge"

    init() throws {
        root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-86400), notAfter: at(86400 * 30))
        old = try SVIDFactory.svid(spiffeID: Self.id, issuer: root, notBefore: at(-3600), notAfter: at(3600))
        new = try SVIDFactory.svid(spiffeID: Self.id, issuer: root, notBefore: at(-30), notAfter: at(7170))
    }

    func collector(
        _ exporter: ExporterHarness, _ endpoint: EnvoyAdminEndpoint, timeout: Duration = .seconds(5),
        maximumBodySize: Int = EnvoyCertificates.maximumBodySize
    ) -> EnvoyCollector<ContinuousClock> {
        EnvoyCollector(
            configuration: EnvoyCollectorConfiguration(
                source: "edge", endpoint: endpoint, interval: .seconds(1), timeout: timeout),
            context: exporter.context, clock: ContinuousClock(), client: EnvoyAdminClient(maximumBodySize: maximumBodySize))
    }

    /// Puts `svid` into the store as another source's (the Workload API's) newest SVID.
    func storeKnows(_ svid: IssuedSVID, _ exporter: ExporterHarness) async {
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: svid.keyPKCS8DER)
        let bundles = BundleSet(own: TrustBundle(trustDomain: nil, der: root.der), byTrustDomain: [:])
        let report = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: now)
        exporter.store.register(source: "workload_api")
        exporter.store.replaceSVIDs(
            source: "workload_api", entries: [IdentityStore.Entry(material: material, bundles: bundles, report: report)],
            bundles: [:], now: now)
    }

    func failures(_ exporter: ExporterHarness, _ reason: EnvoyFailureReason) -> Double? {
        exporter.registry.value(MetricCatalog.envoyFailures, ["edge", reason.rawValue])
    }

    @Test func readsCertsAndComparesWithTheNewestKnownSVID() async throws {
        let exporter = ExporterHarness(now: { referenceTime })
        let body = envoyCertsBody([
            (ca: [CertificateFacts(root.certificate)], chain: [CertificateFacts(new.leaf)]),
            (ca: [], chain: [CertificateFacts(old.leaf)]),
        ])
        let admin = try await FakeEnvoyAdmin(FakeEnvoyAdmin.ok(body))
        defer { Task { await admin.stop() } }
        let collector = collector(exporter, admin.endpoint)
        #expect(exporter.registry.value(MetricCatalog.envoyUp, ["edge"]) == 0)
        for reason in EnvoyFailureReason.allCases { #expect(failures(exporter, reason) == 0) }
        #expect(exporter.board.health("edge")?.kind == .envoy)

        collector.record(await collector.read(), now: now)
        var scrape = await exporter.scrape(now: now, contributors: [collector.contributor])
        #expect(scrape.value("spiffe_envoy_up", ["source": "edge"]) == 1)
        #expect(scrape.value("spiffe_envoy_certificates", ["source": "edge"]) == 3)
        let labels = ["source": "edge", "spiffe_id": Self.id]
        #expect(scrape.value("spiffe_envoy_svid_expiry_timestamp_seconds", labels) == at(3600).timeIntervalSince1970)
        #expect(scrape.value("spiffe_envoy_ca_expiry_timestamp_seconds", ["source": "edge", "trust_domain": "example.org"])
            == at(86400 * 30).timeIntervalSince1970)
        // Nothing else knows the ID yet: no verdict.
        #expect(!scrape.has("spiffe_envoy_svid_current"))
        #expect(exporter.board.health("edge")?.isHealthy == true)

        // The Workload API knows the new SVID: compared at read time, as the probe compares at
        // probe time, the copy of the old one makes the ID stale at the next read.
        await storeKnows(new, exporter)
        scrape = await exporter.scrape(now: now, contributors: [collector.contributor])
        #expect(!scrape.has("spiffe_envoy_svid_current"))
        collector.record(await collector.read(), now: now)
        scrape = await exporter.scrape(now: now, contributors: [collector.contributor])
        #expect(scrape.value("spiffe_envoy_svid_current", labels) == 0)
        try await exporter.expectValidExposition(contributors: [collector.contributor])
    }

    @Test func holdingTheNewestSVIDIsCurrent() async throws {
        let exporter = ExporterHarness(now: { referenceTime })
        await storeKnows(new, exporter)
        let admin = try await FakeEnvoyAdmin(FakeEnvoyAdmin.ok(envoyCertsBody([(ca: [], chain: [CertificateFacts(new.leaf)])])))
        defer { Task { await admin.stop() } }
        let collector = collector(exporter, admin.endpoint)
        collector.record(await collector.read(), now: now)
        let scrape = await exporter.scrape(now: now, contributors: [collector.contributor])
        #expect(scrape.value("spiffe_envoy_svid_current", ["source": "edge", "spiffe_id": Self.id]) == 1)
        #expect(scrape.value("spiffe_envoy_svid_expiry_timestamp_seconds", ["source": "edge", "spiffe_id": Self.id])
            == at(7170).timeIntervalSince1970)
        // /status lists Envoy's SVID as an identity of its source.
        let status = await exporter.metrics(contributors: [collector.contributor]).status(now: now)
        let row = try #require(status.check.identities.first { $0.kind == "envoy" })
        #expect(row.source == "edge")
        #expect(row.spiffeID == Self.id)
        #expect(row.summary == "holds the newest SVID")
        // valid_from, so /status draws its lifetime bar.
        #expect(row.issuedAt != nil && row.issuedAt! < row.expiresAt!)
    }

    /// Each bad answer is one counted reason; /metrics stays valid and the per-ID series stop.
    @Test(arguments: [
        ("html", FakeEnvoyAdmin.ok("<!DOCTYPE html><html><body>admin</body></html>", contentType: "text/html"), EnvoyFailureReason.malformed),
        ("garbage", .raw(Array("SSH-2.0-OpenSSH_9.6\r\n\u{0}\u{1}\u{2}".utf8)), .malformed),
        ("truncated", .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"certificates\":[".utf8)), .malformed),
        ("redirect", .raw(Array("HTTP/1.1 302 Found\r\nLocation: http://evil.example/certs\r\nContent-Length: 0\r\n\r\n".utf8)), .httpStatus),
        ("server error", .raw(Array("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".utf8)), .httpStatus),
        ("declared 100 MB", .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n{".utf8)), .bodyTooLarge),
        (
            "streamed 100 MB",
            // 1 MiB chunks ("100000" hex) of a chunked body.
            .stream(
                head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                chunk: "100000\r\n" + String(repeating: " ", count: 1 << 20) + "\r\n", count: 100), .bodyTooLarge
        ),
        ("silent", .silent, .timeout),
        ("closed without an answer", .raw([]), .connect),
    ] as [(String, FakeEnvoyAdmin.Behaviour, EnvoyFailureReason)])
    func badAnswersAreCountedByReason(_ name: String, _ behaviour: FakeEnvoyAdmin.Behaviour, _ reason: EnvoyFailureReason)
        async throws
    {
        let exporter = ExporterHarness(now: { referenceTime })
        let admin = try await FakeEnvoyAdmin(behaviour)
        defer { Task { await admin.stop() } }
        let good = try await FakeEnvoyAdmin(FakeEnvoyAdmin.ok(envoyCertsBody([(ca: [], chain: [CertificateFacts(new.leaf)])])))
        defer { Task { await good.stop() } }
        let reader = collector(exporter, good.endpoint)
        reader.record(await reader.read(), now: now)
        #expect(await exporter.scrape(now: now, contributors: [reader.contributor]).has("spiffe_envoy_svid_expiry_timestamp_seconds"))

        let collector = collector(exporter, admin.endpoint, timeout: .milliseconds(500))
        let result = await collector.read()
        guard case .failure(let failure) = result else {
            Issue.record("\(name): expected \(reason), read \(result)")
            return
        }
        #expect(failure.reason == reason, "\(name): \(failure.detail)")
        collector.record(result, now: now)
        #expect(failures(exporter, reason) == 1)
        let scrape = await exporter.scrape(now: now, contributors: [collector.contributor])
        #expect(scrape.value("spiffe_envoy_up", ["source": "edge"]) == 0)
        #expect(!scrape.has("spiffe_envoy_svid_expiry_timestamp_seconds"))
        #expect(!scrape.has("spiffe_envoy_certificates"))
        #expect(exporter.board.health("edge")?.lastFailureReason == reason.rawValue)
        try await exporter.expectValidExposition(contributors: [collector.contributor])
    }

    @Test func aHundredMegabytesAreNeverBuffered() async throws {
        // No Content-Length: a body that ends only when the connection does.
        let admin = try await FakeEnvoyAdmin(
            .stream(
                head: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{",
                chunk: String(repeating: " ", count: 1 << 20), count: 100))
        defer { Task { await admin.stop() } }
        let result = await EnvoyAdminClient().fetchCerts(admin.endpoint, timeout: .seconds(30))
        guard case .failure(let failure) = result else {
            Issue.record("read a body over the cap")
            return
        }
        #expect(failure.reason == .bodyTooLarge, "\(failure.detail)")
    }

    @Test func nothingListeningIsConnect() async throws {
        // A port that was just free: bind, learn it, close.
        let probe = try await FakeEnvoyAdmin(.silent)
        let endpoint = probe.endpoint
        await probe.stop()
        let exporter = ExporterHarness(now: { referenceTime })
        let collector = collector(exporter, endpoint)
        let result = await collector.read()
        guard case .failure(let failure) = result else {
            Issue.record("read from a closed port")
            return
        }
        #expect(failure.reason == .connect)
    }

    /// `check`: one row per SPIFFE ID, WARNING for a superseded copy; an unreadable Envoy is a
    /// source failure with its reason and hint.
    @Test func checkRowsAndFailures() async throws {
        let exporter = ExporterHarness(now: { referenceTime })
        await storeKnows(new, exporter)
        let admin = try await FakeEnvoyAdmin(
            FakeEnvoyAdmin.ok(envoyCertsBody([(ca: [CertificateFacts(root.certificate)], chain: [CertificateFacts(old.leaf)])])))
        defer { Task { await admin.stop() } }
        let html = try await FakeEnvoyAdmin(FakeEnvoyAdmin.ok("<html></html>", contentType: "text/html"))
        defer { Task { await html.stop() } }
        let configurations = [("edge", admin.endpoint), ("broken", html.endpoint)].map {
            EnvoyCollectorConfiguration(source: $0.0, endpoint: $0.1, interval: .seconds(30), timeout: .seconds(5))
        }
        // Thresholds far below the SVIDs' time left: only the staleness decides.
        let thresholds = CheckThresholds(warning: 1, critical: 1, warningIsAbsolute: true, criticalIsAbsolute: true)
        let result = await EnvoyCheck.run(configurations, store: exporter.store, thresholds: thresholds)
        let row = try #require(result.identities.first)
        #expect(result.identities.count == 1)
        #expect(row.source == "edge")
        #expect(row.kind == "envoy")
        #expect(row.spiffeID == Self.id)
        #expect(row.expiresAt == at(3600))
        #expect(row.bundleCAExpiresAt == at(86400 * 30))
        #expect(row.status == .warning)
        #expect(row.summary.hasPrefix("holds a superseded SVID"), "\(row.summary)")
        #expect(result.failures.map(\.source) == ["broken"])
        #expect(result.failures.first?.reason == "malformed")
        #expect(result.failures.first?.hint == EnvoyFailureReason.malformed.hint)
    }

    /// The demo's Envoy admin: Envoy's JSON for the contexts given, following them with
    /// `reloads`, frozen at the first ones without (the static certificate of --demo.stale-server).
    @Test(arguments: [true, false]) func demoEnvoyAdmin(reloads: Bool) async throws {
        let current = SharedSVID(old)
        let admin = try await DemoEnvoyAdmin.start(reloads: reloads, logger: quietLogger) {
            [DemoEnvoyAdmin.Context(ca: [root.certificate], chain: current.get().chain)]
        }
        defer { Task { await admin.close() } }
        let client = EnvoyAdminClient()
        func leafNotAfter() async throws -> Date? {
            let body = try await client.fetchCerts(admin.endpoint, timeout: .seconds(5)).get()
            return try EnvoyCertificates.parse(body, now: now).get().svids.first?.earliest.notAfter
        }
        #expect(try await leafNotAfter() == at(3600))
        current.set(new)
        #expect(try await leafNotAfter() == (reloads ? at(7170) : at(3600)))
        var other = admin.endpoint
        other.pathPrefix = "/stats"
        guard case .failure(let failure) = await client.fetchCerts(other, timeout: .seconds(5)) else {
            Issue.record("/stats/certs answered")
            return
        }
        #expect(failure.reason == .httpStatus)
    }

    /// The collector on its loop: reads at start, then every interval, until cancelled.
    @Test func runsOnTheWatchLoop() async throws {
        let exporter = ExporterHarness(now: { referenceTime })
        let admin = try await FakeEnvoyAdmin(FakeEnvoyAdmin.ok(envoyCertsBody([(ca: [], chain: [CertificateFacts(new.leaf)])])))
        defer { Task { await admin.stop() } }
        let collector = collector(exporter, admin.endpoint)
        try await exporter.running([collector]) {
            try await eventually("spiffe_envoy_up is 1") {
                await exporter.scrape(now: now, contributors: [collector.contributor])
                    .has("spiffe_envoy_svid_expiry_timestamp_seconds")
            }
        }
        #expect(exporter.registry.value(MetricCatalog.envoyUp, ["edge"]) == 1)
    }
}

/// An SVID the test swaps while a server reads it.
final class SharedSVID: Sendable {
    private let value: Mutex<IssuedSVID>

    init(_ svid: IssuedSVID) { value = Mutex(svid) }

    func get() -> IssuedSVID { value.withLock { $0 } }
    func set(_ svid: IssuedSVID) { value.withLock { $0 = svid } }
}
