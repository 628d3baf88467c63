import ExporterTestKit
import Foundation
import Hummingbird
import HummingbirdTesting
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SPIFFEExporterHTTP
import Synchronization
import TestKit
import Testing
import WorkloadAPISimulator

/// The HTTP surface, driven through HummingbirdTesting's router framework (no sockets) except where
/// the socket itself is under test.
@Suite("HTTP endpoints", .timeLimit(.minutes(1)))
struct HTTPTests {
    static func application(
        _ exporter: Exporter, telemetryPath: String = "/metrics"
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(
                configuration: HTTPConfiguration(telemetryPath: telemetryPath), metrics: exporter.metrics))
    }

    static func body(_ response: TestResponse) -> [UInt8] {
        Array(response.body.readableBytesView)
    }

    static func text(_ response: TestResponse) -> String {
        String(decoding: body(response), as: UTF8.self)
    }

    /// An exporter whose store holds one SVID, as after a first sync.
    static func syncedExporter() async throws -> Exporter {
        let exporter = Exporter()
        let pki = try StaticPKI()
        exporter.store.replaceSVIDs(
            source: exporter.source, entries: [await pki.entry()], bundles: ["example.org": pki.bundle], now: Date())
        return exporter
    }

    @Test("/metrics serves Prometheus text 0.0.4 that promtool accepts")
    func metricsText() async throws {
        let exporter = try await Self.syncedExporter()
        try await Self.application(exporter).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(response.headers[.contentEncoding] == nil)
                let text = Self.text(response)
                #expect(text.contains("spiffe_exporter_build_info{version=\"test\",revision=\"test\"} 1\n"))
                #expect(
                    text.contains(
                        "spiffe_x509_svid_valid{source=\"workload_api\",spiffe_id=\"\(StaticPKI.spiffeID)\"} 1\n"))
                #expect(!text.contains("# EOF"))
                let check = try await promtoolCheck(text)
                #expect(check.status == 0, "promtool check metrics: \(check.output)")
            }
        }
    }

    @Test("Accept: application/openmetrics-text gets OpenMetrics ending in # EOF")
    func metricsOpenMetrics() async throws {
        let exporter = try await Self.syncedExporter()
        // Counters exist only once a collector registered them.
        exporter.registry.increment(
            MetricCatalog.workloadAPIRequests, ["workload_api", "FetchX509SVID", "Unavailable"])
        try await Self.application(exporter).test(.router) { client in
            let headers: HTTPFields = [
                .accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            ]
            try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                let contentType = try #require(response.headers[.contentType])
                #expect(contentType.hasPrefix("application/openmetrics-text"))
                #expect(contentType.contains("version=1.0.0"))
                let text = Self.text(response)
                #expect(text.hasSuffix("# EOF\n"))
                #expect(text.components(separatedBy: "# EOF").count == 2, "exactly one # EOF")
                // OpenMetrics counter families drop `_total`; their samples keep it.
                #expect(text.contains("# TYPE spiffe_workload_api_requests counter\n"))
                #expect(text.contains("spiffe_workload_api_requests_total{"))
            }
        }
    }

    @Test("Accept-Encoding: gzip gets a gzip body that decompresses to the exposition")
    func metricsGzip() async throws {
        let exporter = try await Self.syncedExporter()
        try await Self.application(exporter).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: "gzip, deflate"]) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentEncoding] == "gzip")
                #expect(response.headers[.vary] == "Accept-Encoding")
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let bytes = Self.body(response)
                #expect(bytes.starts(with: [0x1f, 0x8b]), "gzip magic bytes")
                let plain = String(decoding: try await gunzip(Data(bytes)), as: UTF8.self)
                #expect(plain.contains("# TYPE spiffe_x509_svid_valid gauge\n"))
                #expect(
                    plain.contains(
                        "spiffe_x509_svid_valid{source=\"workload_api\",spiffe_id=\"\(StaticPKI.spiffeID)\"} 1\n"))
                let check = try await promtoolCheck(plain)
                #expect(check.status == 0, "promtool check metrics: \(check.output)")
            }
            // An explicit refusal of gzip is honoured.
            try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: "gzip;q=0"]) {
                response in
                #expect(response.headers[.contentEncoding] == nil)
                #expect(Self.text(response).contains("# TYPE spiffe_x509_svid_valid gauge"))
            }
        }
    }

    @Test("/healthz is 200 regardless of sync state")
    func healthz() async throws {
        let exporter = Exporter()
        exporter.store.register(source: exporter.source)
        try await Self.application(exporter).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Self.text(response) == "OK\n")
            }
        }
    }

    @Test("/readyz is 503 until the collector's first sync, then 200")
    func readyzFollowsFirstSync() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/agent.sock"
            try await withSimulator(SimulatorConfiguration(socketPath: socket), started: false) { simulator in
                let exporter = Exporter()
                try await withCollector(collectorConfiguration(socketPath: socket), feeding: exporter) {
                    try await Self.application(exporter).test(.router) { client in
                        try await eventually("the collector has failed to connect at least once") {
                            exporter.failures(.socketNotFound) >= 1
                        }
                        try await client.execute(uri: "/readyz", method: .get) { response in
                            #expect(response.status == .serviceUnavailable)
                            #expect(Self.text(response).contains("workload_api"))
                        }
                        // Not ready is not an error for /metrics: it still serves, with up 0.
                        try await client.execute(uri: "/metrics", method: .get) { response in
                            #expect(response.status == .ok)
                            #expect(Self.text(response).contains("spiffe_workload_api_up{source=\"workload_api\"} 0\n"))
                        }

                        try await simulator.start()
                        try await eventually("/readyz turns 200") {
                            try await client.execute(uri: "/readyz", method: .get) { $0.status == .ok }
                        }
                        try await client.execute(uri: "/metrics", method: .get) { response in
                            let scrape = Scrape(text: Self.text(response))
                            #expect(scrape.value("spiffe_x509_svid_valid") == 1)
                            #expect(scrape.value("spiffe_workload_api_up") == 1)
                        }
                    }
                }
            }
        }
    }

    @Test("the landing page links the default telemetry path")
    func landingPage() async throws {
        try await Self.application(Exporter()).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                let html = Self.text(response)
                #expect(html.contains("href=\"/metrics\""))
                #expect(html.contains("href=\"/healthz\""))
                #expect(html.contains("href=\"/readyz\""))
            }
        }
    }

    @Test("a custom telemetry path serves metrics there, is linked, and /metrics is gone")
    func customTelemetryPath() async throws {
        let exporter = try await Self.syncedExporter()
        // Given without the leading slash, as operators sometimes do.
        #expect(HTTPConfiguration(telemetryPath: "internal/prom").telemetryPath == "/internal/prom")
        try await Self.application(exporter, telemetryPath: "internal/prom").test(.router) { client in
            try await client.execute(uri: "/internal/prom", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Self.text(response).contains("spiffe_x509_svid_valid{"))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(Self.text(response).contains("href=\"/internal/prom\""))
            }
        }
    }

    @Test("buildApplication serves on a real socket and reports the bound port")
    func liveApplication() async throws {
        let exporter = try await Self.syncedExporter()
        let reported = Mutex<Int?>(nil)
        let app = buildApplication(
            configuration: HTTPConfiguration(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
            metrics: exporter.metrics, logger: quietLogger
        ) { port in reported.withLock { $0 = port } }
        try await app.test(.live) { client in
            let port = try #require(reported.withLock { $0 })
            #expect(port > 0)
            #expect(port == client.port)
            try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: "gzip"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentEncoding] == "gzip")
                let plain = String(decoding: try await gunzip(Data(Self.body(response))), as: UTF8.self)
                #expect(plain.contains("spiffe_x509_svid_valid{"))
            }
        }
    }
}
