import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import SPIFFEExporterCore
import Synchronization

/// One GET of a federation bundle endpoint over HTTPS, authenticated by the endpoint's profile.
/// Redirects are not followed (a bundle must come from the configured URL); the body is read up
/// to a bound and the connection closed past it, so a hostile endpoint cannot make the exporter
/// buffer 100 MB. The deadline is the caller's: cancelling the task closes the connection.
struct FederationBundleFetcher: Sendable {
    let group: any EventLoopGroup
    /// Largest body read; SPIRE's bundles are a few kilobytes.
    let maximumBodySize: Int
    /// NIO's own TCP connect deadline, a backstop under the caller's.
    let connectTimeout: Duration
    /// The bundle the exporter holds for a trust domain (`https_spiffe`).
    let heldBundle: @Sendable (String) -> TrustBundle?
    /// Validation time of an `https_spiffe` endpoint's SVID.
    let now: @Sendable () -> Date

    func fetch(_ endpoint: FederationEndpointConfiguration) async -> Result<[UInt8], FederationBundleFailure> {
        let connection = FetchConnection()
        return await withTaskCancellationHandler {
            await run(endpoint, connection)
        } onCancel: {
            connection.cancel()
        }
    }

    private func run(
        _ endpoint: FederationEndpointConfiguration, _ connection: FetchConnection
    ) async -> Result<[UInt8], FederationBundleFailure> {
        let context: NIOSSLContext
        let verification: SPIFFEVerification?
        do {
            (context, verification) = try await makeContext(endpoint, connection)
        } catch let failure as FederationBundleFailure {
            return .failure(failure)
        } catch {
            return .failure(.init(.tls, "TLS client configuration: \(error)"))
        }
        // SNI carries names only; for an IP address NIO SSL checks the peer address instead.
        let host = Self.address(endpoint.host)
        let isIPAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let serverHostname = isIPAddress ? nil : host
        let request = Self.request(endpoint)
        let limit = maximumBodySize
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(connectTimeout.seconds * 1e9)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let verification {
                        try pipeline.addHandler(
                            NIOSSLClientHandler(
                                context: context, serverHostname: serverHostname,
                                customVerificationCallback: verification.callback))
                    } else {
                        try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(BundleResponseHandler(request: request, limit: limit, connection: connection))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: endpoint.port).get()
        } catch ChannelError.connectTimeout {
            return .failure(.init(.timeout, "no TCP connection to \(endpoint.host):\(endpoint.port) in time"))
        } catch {
            if connection.isCancelled { return .failure(.init(.timeout, "cancelled while connecting")) }
            return .failure(.init(.connect, "connect to \(endpoint.host):\(endpoint.port): \(error)"))
        }
        connection.attach(channel)
        try? await channel.closeFuture.get()
        return Self.classify(connection.snapshot())
    }

    private func makeContext(
        _ endpoint: FederationEndpointConfiguration, _ connection: FetchConnection
    ) async throws -> (NIOSSLContext, SPIFFEVerification?) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        switch endpoint.profile {
        case .httpsWeb:
            // NIO SSL's full verification: chain to the trust roots, then the host name.
            if let caFile = endpoint.caFile {
                let loaded = await CertFilesCollector.offload { Result { try NIOSSLCertificate.fromPEMFile(caFile) } }
                switch loaded {
                case .success(let roots) where !roots.isEmpty:
                    tls.trustRoots = .certificates(roots)
                case .success:
                    throw FederationBundleFailure(.untrusted, "ca_file \(caFile) holds no certificate")
                case .failure(let error):
                    throw FederationBundleFailure(.untrusted, "ca_file \(caFile): \(error)")
                }
            }
            return (try NIOSSLContext(configuration: tls), nil)
        case .httpsSPIFFE:
            // SPIFFE authentication replaces Web PKI and the host name check (the callback below).
            tls.certificateVerification = .noHostnameVerification
            let verification = SPIFFEVerification(
                expected: endpoint.endpointSPIFFEID?.description, heldBundle: heldBundle, now: now, connection: connection)
            return (try NIOSSLContext(configuration: tls), verification)
        }
    }

    /// The URL's host as a resolver or SNI takes it: an IPv6 literal without its brackets.
    static func address(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    static func request(_ endpoint: FederationEndpointConfiguration) -> HTTPRequestHead {
        let address = Self.address(endpoint.host)
        var host = address.contains(":") ? "[\(address)]" : address
        if endpoint.port != 443 { host += ":\(endpoint.port)" }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "spiffe-exporter")
        headers.add(name: "Connection", value: "close")
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.requestTarget, headers: headers)
    }

    /// What the connection went through, as a result.
    static func classify(_ s: FetchConnection.Snapshot) -> Result<[UInt8], FederationBundleFailure> {
        if let outcome = s.outcome { return outcome }
        if let verdict = s.verdict, let failure = verdict.failure {
            let reason: FederationBundleFailureReason = failure == .wrongSPIFFEID ? .endpointSPIFFEIDMismatch : .untrusted
            return .failure(.init(reason, verdict.detail))
        }
        if s.cancelled { return .failure(.init(.timeout, "no complete response in time")) }
        if !s.handshakeCompleted {
            if s.errors.contains(where: Self.isTrustFailure) {
                return .failure(.init(.untrusted, s.errors.first.map { "\($0)" } ?? "untrusted server certificate"))
            }
            return .failure(.init(.tls, s.errors.first.map { "TLS handshake: \($0)" } ?? "closed during the TLS handshake"))
        }
        if let error = s.errors.first { return .failure(.init(.malformed, "not an HTTP response: \(error)")) }
        return .failure(.init(.malformed, "the connection closed before the response was complete"))
    }

    /// Web PKI rejections: BoringSSL's verification error, or NIO SSL's host name check.
    static func isTrustFailure(_ error: String) -> Bool {
        let text = error.uppercased()
        return text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("FAILEDTOVALIDATEHOSTNAME")
    }
}

/// `https_spiffe`: the server's chain against the held bundle of its trust domain, and its SPIFFE
/// ID against `endpoint_spiffe_id`; the verdict is recorded for classification.
struct SPIFFEVerification: Sendable {
    let expected: String?
    let heldBundle: @Sendable (String) -> TrustBundle?
    let now: @Sendable () -> Date
    let connection: FetchConnection

    var callback: NIOSSLCustomVerificationCallback {
        let verification = self
        return { certificates, promise in
            // Runs on the event loop: copy the DER out, verify off the loop.
            let chainDER = certificates.map { (try? $0.toDERBytes()) ?? [] }
            promise.completeWithTask {
                let verdict = await ServedChainVerifier.verify(
                    chainDER: chainDER, expectedSPIFFEID: verification.expected, now: verification.now(),
                    bundle: verification.heldBundle)
                verification.connection.record(verdict)
                return verdict.accepted ? .certificateVerified : .failed
            }
        }
    }
}

/// One fetch's connection; written on the event loop, the verification task and the canceller,
/// read once the channel has closed.
final class FetchConnection: Sendable {
    struct Snapshot: Sendable {
        var outcome: Result<[UInt8], FederationBundleFailure>?
        var verdict: ServedChainVerifier.Verdict?
        var handshakeCompleted = false
        var cancelled = false
        var errors: [String] = []
    }

    private struct State: Sendable {
        var snapshot = Snapshot()
        var channel: (any Channel)?
    }

    private let state = Mutex(State())

    var isCancelled: Bool { state.withLock { $0.snapshot.cancelled } }

    /// Called once connected: a fetch cancelled meanwhile closes at once.
    func attach(_ channel: any Channel) {
        let cancelled = state.withLock { s -> Bool in
            s.channel = channel
            return s.snapshot.cancelled
        }
        if cancelled { channel.close(promise: nil) }
    }

    func cancel() {
        let channel = state.withLock { s -> (any Channel)? in
            s.snapshot.cancelled = true
            return s.channel
        }
        channel?.close(promise: nil)
    }

    /// The first outcome sticks (a close after a failure is no news).
    func finish(_ outcome: Result<[UInt8], FederationBundleFailure>) {
        state.withLock { s in
            if s.snapshot.outcome == nil { s.snapshot.outcome = outcome }
        }
    }

    func record(_ verdict: ServedChainVerifier.Verdict) { state.withLock { $0.snapshot.verdict = verdict } }
    func markHandshakeCompleted() { state.withLock { $0.snapshot.handshakeCompleted = true } }
    func record(error: any Error) { state.withLock { $0.snapshot.errors.append(String(describing: error)) } }
    func snapshot() -> Snapshot { state.withLock { $0.snapshot } }
}

/// Sends the GET once the TLS handshake completed and reads the response: 200 only, the body up
/// to `limit` (the `Content-Length` is checked first, then every chunk as it arrives).
final class BundleResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let limit: Int
    private let connection: FetchConnection
    private var body: [UInt8] = []
    private var done = false

    init(request: HTTPRequestHead, limit: Int, connection: FetchConnection) {
        self.request = request
        self.limit = limit
        self.connection = connection
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            connection.markHandshakeCompleted()
            context.write(wrapOutboundOut(.head(request)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status == .ok else {
                let location = head.headers.first(name: "Location").map { _ in " (redirect not followed)" } ?? ""
                return finish(context, .failure(.init(.httpStatus, "HTTP \(head.status.code)\(location)")))
            }
            if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                return finish(context, .failure(.init(.bodyTooLarge, "Content-Length \(length) exceeds \(limit) bytes")))
            }
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= limit else {
                return finish(context, .failure(.init(.bodyTooLarge, "the body exceeds \(limit) bytes; the rest is not read")))
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            finish(context, .success(body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.record(error: error)
        context.close(promise: nil)
    }

    private func finish(_ context: ChannelHandlerContext, _ outcome: Result<[UInt8], FederationBundleFailure>) {
        done = true
        body = []
        connection.finish(outcome)
        context.close(promise: nil)
    }
}
