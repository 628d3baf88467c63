import ExporterTestKit
import Foundation
import Hummingbird
import HummingbirdTesting
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SPIFFEExporterHTTP
import TestKit
import Testing

/// `GET /probe` through the router, against real TLS servers on loopback.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ProbeEndpointTests {
    static func application(_ endpoint: ProbeEndpoint, exporter: ExporterHarness) -> some ApplicationProtocol {
        Application(
            router: buildRouter(
                configuration: HTTPConfiguration(), metrics: exporter.metrics, probe: endpoint))
    }

    static func text(_ response: TestResponse) -> String {
        String(decoding: response.body.readableBytesView, as: UTF8.self)
    }

    /// The answer holds that probe's series, fresh for each request: current, then stale once the
    /// SPIFFE ID rotated and the server did not reload.
    @Test func probesTheTargetWithTheModule() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) { simulator in
                let files = directory + "/server"
                try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
                let original = try simulator.svid(serverID)
                try writeSVIDFiles(original, bundle: [simulator.rootCA], to: files)
                let server = try await TestTLSServer.start(directory: files, reload: .never)
                defer { server.stop() }
                let endpoint = ProbeEndpoint(
                    settings: ProbeEndpointSettings(
                        modules: ["backend": ProbeModule(spiffeID: serverID), "other": ProbeModule(spiffeID: exporterID)]),
                    identities: StoreProbeIdentities(store: exporter.store, board: exporter.board),
                    registry: exporter.registry, logger: quietLogger, clock: clock.now)
                let address = "127.0.0.1:\(server.port)"
                try await Self.application(endpoint, exporter: exporter).test(.router) { client in
                    try await client.execute(uri: "/probe?target=\(address)&module=backend", method: .get) { response in
                        #expect(response.status == .ok)
                        #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                        let scrape = Scrape(text: Self.text(response))
                        #expect(scrape.value("spiffe_probe_success", ["target": address]) == 1)
                        #expect(scrape.value("spiffe_served_svid_current", ["target": address, "spiffe_id": serverID]) == 1)
                        #expect(
                            scrape.value("spiffe_served_svid_expiry_timestamp_seconds", ["target": address, "spiffe_id": serverID])
                                == original.leaf.notValidAfter.timeIntervalSince1970)
                        #expect(scrape.value("spiffe_probe_tls_version_info", ["target": address, "version": "TLS 1.3"]) == 1)
                        // That probe only: nothing of the exporter's own state.
                        let names = Set(scrape.samples.map(\.name))
                        #expect(names.allSatisfy { $0.hasPrefix("spiffe_probe_") || $0.hasPrefix("spiffe_served_svid_") }, "\(names)")
                        #expect(!names.contains("spiffe_probe_failures_total"))
                    }
                    // The module decides the expected SPIFFE ID.
                    try await client.execute(uri: "/probe?target=\(address)&module=other", method: .get) { response in
                        #expect(Scrape(text: Self.text(response)).value("spiffe_probe_success", ["target": address]) == 0)
                    }

                    clock.advance(by: 120)
                    try simulator.rotate()
                    let rotated = try simulator.svid(serverID)
                    try await eventually("the rotated SVID reaches the store") {
                        exporter.store.newestSVID(spiffeID: serverID)?.leaf.serialNumber == CertificateFacts(rotated.leaf).serialNumber
                    }
                    try writeSVIDFiles(rotated, bundle: [simulator.rootCA], to: files)
                    try await client.execute(uri: "/probe?target=\(address)&module=backend", method: .get) { response in
                        let scrape = Scrape(text: Self.text(response))
                        #expect(scrape.value("spiffe_probe_success", ["target": address]) == 1)
                        #expect(scrape.value("spiffe_served_svid_current", ["target": address, "spiffe_id": serverID]) == 0)
                    }
                }
                #expect(exporter.registry.value(MetricCatalog.probeEndpointRequests, ["probed"]) == 3)
            }
        }
    }

    @Test func rejectedRequestsAreCountedByOutcome() async throws {
        let exporter = ExporterHarness()
        let endpoint = ProbeEndpoint(
            settings: ProbeEndpointSettings(allowedTargets: [ProbeTargetGlob("*.internal:443")]),
            identities: NoProbeIdentities(), registry: exporter.registry, logger: quietLogger)
        try await Self.application(endpoint, exporter: exporter).test(.router) { client in
            for (uri, status) in [
                ("/probe", HTTPResponse.Status.badRequest),
                ("/probe?target=api.internal", .badRequest),
                ("/probe?target=api.internal:443&module=nope", .badRequest),
                ("/probe?target=169.254.169.254:80", .forbidden),
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == status, "\(uri)")
                    #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
                }
            }
        }
        #expect(exporter.registry.value(MetricCatalog.probeEndpointRequests, ["bad_request"]) == 3)
        #expect(exporter.registry.value(MetricCatalog.probeEndpointRequests, ["not_allowed"]) == 1)
        #expect(exporter.registry.value(MetricCatalog.probeEndpointRequests, ["probed"]) == 0)
        #expect(exporter.registry.value(MetricCatalog.probeEndpointRequests, ["too_many"]) == 0)
    }

    /// Beyond `max_concurrent` a request is answered 503 at once; the scrape timeout Prometheus
    /// sends bounds the probe of a server that never answers.
    @Test func concurrencyLimitAndScrapeTimeout() async throws {
        let exporter = ExporterHarness()
        let silent = try await SilentServer.start()
        defer { silent.stop() }
        let endpoint = ProbeEndpoint(
            settings: ProbeEndpointSettings(maxConcurrent: 1), identities: NoProbeIdentities(),
            registry: exporter.registry, logger: quietLogger)
        let address = "127.0.0.1:\(silent.port)"
        async let first = endpoint.answer(
            target: address, module: nil, scrapeTimeoutHeader: "3", format: .prometheusText)
        try await eventually("the first probe is running") { endpoint.inFlight == 1 }
        let second = await endpoint.answer(target: address, module: nil, scrapeTimeoutHeader: "3", format: .prometheusText)
        #expect(second.status == 503)
        let answer = await first
        #expect(answer.status == 200)
        let scrape = Scrape(text: String(decoding: answer.body, as: UTF8.self))
        #expect(scrape.value("spiffe_probe_success", ["target": address]) == 0)
        // Bounded by the header (3 s less the offset), not the 10 s default: the deadline the
        // endpoint probed with, derived as it derives it (no wall-clock measurement).
        let request = try ProbeRequest.resolve(
            target: address, module: nil, scrapeTimeoutHeader: "3", settings: ProbeEndpointSettings(maxConcurrent: 1)
        ).get()
        #expect(request.timeout == 2.5)
        #expect(scrape.value("spiffe_probe_duration_seconds", ["target": address]) != nil)
        #expect(exporter.registry.value(MetricCatalog.probeEndpointRequests, ["too_many"]) == 1)
        #expect(endpoint.inFlight == 0)
    }
}
