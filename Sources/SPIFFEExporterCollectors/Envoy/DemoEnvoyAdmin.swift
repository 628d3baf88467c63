import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SPIFFEExporterCore
import ServiceLifecycle
import Synchronization
import X509

/// An Envoy admin listener for `spiffe-exporter demo`, without Envoy: answers `GET /certs` with
/// Envoy 1.40's JSON for the TLS contexts `contexts` returns (a listener's, an upstream cluster's),
/// so the Envoy collector, its series, alerts and dashboard row run in the demo. With `reloads`
/// each context shows what `contexts` gives now; without, every context keeps the certificates it
/// first showed, the static `tls_certificates` Envoy never re-reads.
public final class DemoEnvoyAdmin: Service, Sendable {
    /// One TLS context: its CAs (`ca_cert`) and its certificate (`cert_chain`, leaf first).
    public struct Context: Sendable {
        public var ca: [Certificate]
        public var chain: [Certificate]

        public init(ca: [Certificate], chain: [Certificate]) {
            self.ca = ca
            self.chain = chain
        }
    }

    public var port: Int { listener.port }
    private let listener: DemoListener
    private let logger: Logger

    private init(listener: DemoListener, logger: Logger) {
        self.listener = listener
        self.logger = logger
    }

    public var endpoint: EnvoyAdminEndpoint { EnvoyAdminEndpoint(host: "127.0.0.1", port: port) }

    /// Binds 127.0.0.1 on an ephemeral port and starts answering.
    public static func start(
        reloads: Bool, logger: Logger, contexts: @escaping @Sendable () -> [Context]
    ) async throws -> DemoEnvoyAdmin {
        let source = Snapshot(reloads: reloads, contexts: contexts)
        let listener = try await DemoListener.bind(host: "127.0.0.1") { pipeline in
            try pipeline.configureHTTPServerPipeline()
            try pipeline.addHandler(CertsHandler(body: { source.body() }))
        }
        return DemoEnvoyAdmin(listener: listener, logger: logger)
    }

    /// Serves until graceful shutdown, then closes the listener.
    public func run() async throws {
        await listener.run(logger: logger, "demo Envoy admin listening")
    }

    /// Stops listening (what `run()` does on graceful shutdown), for a server that never ran.
    public func close() async {
        try? await listener.channel.close()
    }

    /// `/certs` as Envoy writes it for `contexts`.
    public static func certsJSON(_ contexts: [Context]) -> [UInt8] {
        func details(_ certificate: Certificate) -> [String: Any] {
            let facts = CertificateFacts(certificate)
            let serial = facts.serialNumber.drop { $0 == "0" }
            return [
                "path": "<inline>",
                "serial_number": serial.isEmpty ? "0" : String(serial),
                "subject_alt_names": facts.uriSANs.map { ["uri": $0] },
                "days_until_expiration": "\(max(0, Int(facts.notAfter.timeIntervalSinceNow / 86400)))",
                "valid_from": RFC3339.string(from: facts.notBefore),
                "expiration_time": RFC3339.string(from: facts.notAfter),
            ]
        }
        let body: [String: Any] = [
            "certificates": contexts.map { ["ca_cert": $0.ca.map(details), "cert_chain": $0.chain.prefix(1).map(details)] }
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return Array(data)
    }

    /// The contexts shown: live, or frozen at their first sight.
    private final class Snapshot: Sendable {
        let reloads: Bool
        let contexts: @Sendable () -> [Context]
        private let first = Mutex<[Context]?>(nil)

        init(reloads: Bool, contexts: @escaping @Sendable () -> [Context]) {
            self.reloads = reloads
            self.contexts = contexts
        }

        func body() -> [UInt8] {
            let now = contexts()
            guard !reloads else { return DemoEnvoyAdmin.certsJSON(now) }
            let shown = first.withLock { first -> [Context] in
                if first == nil, !now.isEmpty { first = now }
                return first ?? now
            }
            return DemoEnvoyAdmin.certsJSON(shown)
        }
    }

    /// `GET /certs` → 200 JSON; anything else 404.
    private final class CertsHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let body: @Sendable () -> [UInt8]
        private var path = ""

        init(body: @escaping @Sendable () -> [UInt8]) {
            self.body = body
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): path = head.method == .GET ? head.uri : ""
            case .body: break
            case .end:
                let found = path == "/certs"
                let bytes = found ? body() : Array("not found\n".utf8)
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: found ? "application/json" : "text/plain")
                headers.add(name: "Content-Length", value: "\(bytes.count)")
                let head = HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
