import CompressNIO
import Foundation
import Hummingbird
import Logging
import NIOCore
import SPIFFEExporterCore

/// HTTP settings in exporter vocabulary (`--web.listen-address`, `--web.telemetry-path`,
/// `--web.config.file`).
public struct HTTPConfiguration: Sendable {
    public var listenAddress: ListenAddress
    public var telemetryPath: String
    /// exporter-toolkit web config (TLS, basic auth); see ``WebSecurity``.
    public var webConfigFile: String?
    /// `--web.max-requests`: concurrent scrapes of the telemetry path; more get 503. 0 = unlimited.
    public var maxRequests: Int

    public init(
        listenAddress: ListenAddress = ListenAddress(host: "0.0.0.0", port: 9841), telemetryPath: String = "/metrics",
        webConfigFile: String? = nil, maxRequests: Int = 40
    ) {
        self.listenAddress = listenAddress
        self.telemetryPath = telemetryPath.hasPrefix("/") ? telemetryPath : "/" + telemetryPath
        self.webConfigFile = webConfigFile
        self.maxRequests = maxRequests
    }
}

/// Builds the router: `/metrics` (text 0.0.4 or OpenMetrics, gzip when accepted), `/healthz`,
/// `/readyz`, and a landing page. Tests drive it through HummingbirdTesting without sockets.
/// With `security`, every route (health endpoints included, as exporter-toolkit does) sits behind
/// its basic auth and response headers.
public func buildRouter(
    configuration: HTTPConfiguration,
    metrics: any MetricsProvider,
    status: (any StatusProvider)? = nil,
    probe: (any ProbeEndpointProvider)? = nil,
    security: WebSecurity? = nil,
    reload: (@Sendable () async -> String?)? = nil,
    clock: @escaping @Sendable () -> Date = { Date() }
) -> Router<BasicRequestContext> {
    let router = Router()
    // Middleware applies to routes added after it: install before any route, /-/reload included.
    security?.install(on: router)
    if let reload {
        // As Prometheus does: POST /-/reload re-reads the config file; 500 with the reason if invalid.
        router.post("/-/reload") { _, _ -> Response in
            if let problem = await reload() {
                return Response(
                    status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: "failed to reload config: \(problem)\n")))
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "config reloaded\n")))
        }
    }
    let telemetryPath = configuration.telemetryPath
    let limiter = ConcurrencyLimiter(limit: configuration.maxRequests)

    @Sendable func scrapeResponse(_ request: Request) async throws -> Response {
        let format = ExpositionFormat.negotiate(accept: request.headers[values: .accept].joined(separator: ","))
        let body = await metrics.scrape(format: format, now: clock())
        var headers: HTTPFields = [.contentType: format.contentType]
        var buffer = ByteBuffer(bytes: body)
        if acceptsGzip(request.headers[values: .acceptEncoding]) {
            if let compressed = try? buffer.compress(with: .gzip()) {
                buffer = compressed
                headers[.contentEncoding] = "gzip"
            }
        }
        headers[.vary] = "Accept-Encoding"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }
    router.get(RouterPath(telemetryPath)) { request, _ -> Response in
        try await limiter.run { try await scrapeResponse(request) }
    }

    if let probe {
        router.get("/probe") { request, _ -> Response in
            let query = request.uri.queryParameters
            let format = ExpositionFormat.negotiate(accept: request.headers[values: .accept].joined(separator: ","))
            let answer = await probe.answer(
                target: query.get("target"), module: query.get("module"),
                scrapeTimeoutHeader: request.headers[scrapeTimeoutHeader], format: format)
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: [.contentType: answer.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
    }

    router.get("/healthz") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "OK\n")))
    }

    router.get("/readyz") { _, _ -> Response in
        let pending = metrics.unsyncedSources()
        if pending.isEmpty {
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
        }
        let text = "not ready: waiting for the first sync of " + pending.joined(separator: ", ") + "\n"
        return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    if let status {
        router.get("/status") { request, _ -> Response in
            let report = await status.status(now: clock())
            if request.uri.queryParameters.get("format") == "json" {
                return Response(
                    status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: StatusPage.json(report))))
            }
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: StatusPage.html(report, telemetryPath: telemetryPath))))
        }
    }

    router.get("/") { _, _ -> Response in
        let html = landingPage(telemetryPath: telemetryPath)
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
    return router
}

/// The exporter's HTTP server as a `Service` for the ServiceGroup; served over TLS when `security`
/// configures it.
public func buildApplication(
    configuration: HTTPConfiguration,
    metrics: any MetricsProvider,
    status: (any StatusProvider)? = nil,
    probe: (any ProbeEndpointProvider)? = nil,
    security: WebSecurity? = nil,
    reload: (@Sendable () async -> String?)? = nil,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = buildRouter(
        configuration: configuration, metrics: metrics, status: status, probe: probe, security: security, reload: reload)
    return Application(
        router: router,
        server: security?.serverBuilder() ?? .http1(),
        configuration: .init(
            address: .hostname(configuration.listenAddress.host, port: configuration.listenAddress.port),
            serverName: "spiffe-exporter"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
}

/// What Prometheus sends with every scrape: its scrape timeout in seconds.
let scrapeTimeoutHeader = HTTPFields.Element.Name("X-Prometheus-Scrape-Timeout-Seconds")!

func acceptsGzip(_ values: [String]) -> Bool {
    for value in values {
        for part in value.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let coding = fields.first?.lowercased(), coding == "gzip" || coding == "x-gzip" else { continue }
            // "gzip;q=0" explicitly refuses gzip.
            if fields.dropFirst().contains(where: { $0.replacingOccurrences(of: " ", with: "") == "q=0" || $0 == "q=0.0" }) {
                continue
            }
            return true
        }
    }
    return false
}

func landingPage(telemetryPath: String) -> String {
    """
    <!DOCTYPE html>
    <html>
    <head><meta charset="utf-8"><title>spiffe-exporter</title></head>
    <body>
    <h1>spiffe-exporter</h1>
    <p>Prometheus exporter for SPIFFE/SPIRE workload identities: X.509-SVID expiry, validity,
    trust bundles and Workload API health.</p>
    <ul>
    <li><a href="\(telemetryPath)">Metrics</a></li>
    <li><a href="/healthz">Health</a></li>
    <li><a href="/readyz">Readiness</a></li>
    <li><a href="/status">Status</a> (identities, sources, recent events; <a href="/status?format=json">JSON</a>)</li>
    <li><code>/probe?target=host:port&amp;module=NAME</code>: probe one TLS endpoint now (for Prometheus service discovery)</li>
    </ul>
    </body>
    </html>

    """
}
