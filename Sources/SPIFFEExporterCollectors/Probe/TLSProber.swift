import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SPIFFEExporterCore
import Synchronization
import X509

/// One probe: connect, TLS handshake with SPIFFE authentication of the server (no host name
/// check; the chain against the trust bundle and the expected SPIFFE ID instead), the exporter's
/// own SVID as client certificate when it has one, then a TLS close exchange so a server that
/// rejects the client certificate after the handshake (TLS 1.3) is noticed.
struct TLSProber: Sendable {
    let group: any EventLoopGroup
    let clock: @Sendable () -> Date

    /// How long to wait for the server's answer to our close_notify: an alert rejecting the client
    /// certificate comes within a round trip; a server that never answers is not a failure.
    static let closeWindow: Double = 2

    func probe(_ target: ProbeTarget, timeout: Double, identities: any ProbeIdentitySource) async -> ProbeResult {
        let started = ContinuousClock.now
        let outcome = await attempt(target, timeout: timeout, identities: identities, presentClientSVID: true)
        var clientAuthEnforced: Bool?
        if target.clientAuthRequired {
            let anonymous = await attempt(target, timeout: timeout, identities: identities, presentClientSVID: false)
            clientAuthEnforced = Self.clientAuthEnforced(anonymous)
        }
        let duration = (ContinuousClock.now - started).seconds
        // Compared at probe time with what the exporter knows then; the stale duration keeps
        // growing at scrape time until the next probe.
        let freshness = outcome.served.map {
            ServedSVIDFreshness.compare(served: $0.leaf, newest: identities.newestSVID(spiffeID: $0.spiffeID))
        }
        var result = ProbeResult(
            target: target.name, finishedAt: clock(), duration: duration, failure: outcome.failure,
            served: outcome.served, freshness: freshness ?? .unknown, detail: outcome.detail)
        result.clientAuthEnforced = clientAuthEnforced
        result.tlsVersion = outcome.tlsVersion
        result.tlsCipher = outcome.tlsCipher
        return result
    }

    /// The verdict of the connection made without a client certificate: refused (the alert
    /// `classify` reads as `no_client_svid`, during or right after the handshake) or accepted (a
    /// completed handshake the server did not object to within the close window); anything else
    /// says nothing about the server's client-auth policy.
    static func clientAuthEnforced(_ anonymous: Outcome) -> Bool? {
        switch anonymous.failure {
        case nil: return false
        case .noClientSVID: return true
        default: return nil
        }
    }

    struct Outcome: Sendable {
        var failure: ProbeFailureReason?
        var served: ServedSVID?
        var detail: String
        var tlsVersion: String?
        var tlsCipher: String?
    }

    private func attempt(
        _ target: ProbeTarget, timeout: Double, identities: any ProbeIdentitySource, presentClientSVID: Bool
    ) async -> Outcome {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout * 1e9))
        let client = presentClientSVID ? identities.clientSVID() : nil
        let context: NIOSSLContext
        var presentsClientSVID = false
        do {
            var tls = TLSConfiguration.makeClientConfiguration()
            // Verification happens in the custom callback; NIO SSL's own (WebPKI, host name) is off.
            tls.certificateVerification = .noHostnameVerification
            tls.shutdownTimeout = .nanoseconds(Int64(min(timeout, Self.closeWindow) * 1e9))
            if let client, let material = try? Self.nioMaterial(client) {
                tls.certificateChain = material.chain.map { .certificate($0) }
                tls.privateKey = .privateKey(material.key)
                presentsClientSVID = true
            }
            context = try NIOSSLContext(configuration: tls)
        } catch {
            return Outcome(failure: .handshakeFailed, detail: "TLS client configuration: \(error)")
        }

        let state = ProbeConnectionState()
        let clock = self.clock
        let expected = target.spiffeID
        let verify: NIOSSLCustomVerificationCallback = { certificates, promise in
            // Runs on the event loop: copy the DER out, verify off the loop.
            let chainDER = certificates.map { (try? $0.toDERBytes()) ?? [] }
            promise.completeWithTask {
                let verdict = await ServedChainVerifier.verify(
                    chainDER: chainDER, expectedSPIFFEID: expected, now: clock(),
                    bundle: { identities.trustBundle(trustDomain: $0) })
                state.record(verdict)
                return verdict.accepted ? .certificateVerified : .failed
            }
        }
        let serverName = target.serverName
        let startTLS = target.startTLS
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(timeout * 1e9)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let addTLS: (ChannelPipeline.SynchronousOperations) throws -> Void = { pipeline in
                        let tlsHandler = try NIOSSLClientHandler(
                            context: context, serverHostname: serverName, customVerificationCallback: verify)
                        // Ahead of the TLS handler: sees the server's raw ServerHello.
                        try pipeline.addHandler(ServerHelloSniffer(state: state))
                        try pipeline.addHandler(tlsHandler)
                        try pipeline.addHandler(ProbeHandler(state: state))
                    }
                    if let startTLS {
                        // The TLS handlers join the pipeline once the server agreed to upgrade.
                        try channel.pipeline.syncOperations.addHandler(
                            StartTLSHandler(negotiation: StartTLSNegotiation(startTLS), state: state, addTLS: addTLS))
                    } else {
                        try addTLS(channel.pipeline.syncOperations)
                    }
                }
            }

        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        } catch ChannelError.connectTimeout {
            return Outcome(failure: .timeout, detail: "no TCP connection within \(timeout)s")
        } catch {
            return Outcome(failure: .connectRefused, detail: "connect: \(error)")
        }
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
            state.markTimedOut()
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
        timer.cancel()
        let snapshot = state.snapshot()
        var outcome = Self.classify(snapshot, presentsClientSVID: presentsClientSVID)
        if snapshot.handshakeCompleted {
            outcome.tlsVersion = snapshot.tlsVersion.map { Self.versionName($0) }
            outcome.tlsCipher = snapshot.cipherSuite.map { TLSServerHello.cipherName($0) }
        }
        return outcome
    }

    /// Turns what happened on the connection into the probe's outcome.
    static func classify(_ s: ProbeConnectionState.Snapshot, presentsClientSVID: Bool) -> Outcome {
        if let (reason, detail) = s.startTLSFailure {
            return Outcome(failure: reason, detail: detail)
        }
        if s.timedOut, !s.startTLSUpgraded {
            return Outcome(failure: .timeout, detail: "no answer to the STARTTLS request in time")
        }
        if let verdict = s.verdict, let failure = verdict.failure {
            return Outcome(failure: failure, served: verdict.served, detail: verdict.detail)
        }
        let served = s.verdict?.served
        // An alert after the server's certificate was accepted is the server refusing us: during
        // the handshake (TLS 1.2) or right after it (TLS 1.3, client certificate checked last).
        if s.verdict != nil, let alert = s.errors.first(where: isPeerAlert(_:)) {
            if presentsClientSVID {
                return Outcome(
                    failure: .handshakeFailed, served: served, detail: "server rejected the client SVID: \(alert)")
            }
            return Outcome(
                failure: .noClientSVID, served: served,
                detail: "server requires a client certificate and the exporter has no X.509-SVID: \(alert)")
        }
        if s.handshakeCompleted {
            guard let verdict = s.verdict else {
                return Outcome(failure: .untrusted, detail: "the handshake completed without a certificate to verify")
            }
            return Outcome(failure: nil, served: verdict.served, detail: "")
        }
        if s.timedOut {
            return Outcome(failure: .timeout, served: served, detail: "TLS handshake did not finish in time")
        }
        let detail = s.errors.first.map { "\($0)" } ?? "connection closed during the TLS handshake"
        return Outcome(failure: .handshakeFailed, served: served, detail: detail)
    }

    /// blackbox_exporter's `probe_tls_version_info` values (Go's `tls.VersionName`).
    static func versionName(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv1: "TLS 1.0"
        case .tlsv11: "TLS 1.1"
        case .tlsv12: "TLS 1.2"
        case .tlsv13: "TLS 1.3"
        }
    }

    /// A TLS alert received from the peer (BoringSSL names them `..._ALERT_...`), other than
    /// close_notify.
    static func isPeerAlert(_ error: String) -> Bool {
        let text = error.uppercased()
        return text.contains("ALERT") && !text.contains("CLOSE_NOTIFY")
    }

    static func nioMaterial(_ svid: ClientSVID) throws -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let chain = try svid.chain.map { certificate in
            try NIOSSLCertificate(bytes: Array(try certificate.serializeAsPEM().pemString.utf8), format: .pem)
        }
        let pem = try svid.privateKey.serializeAsPEM().pemString
        return (chain, try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem))
    }
}

/// What one probe connection went through; written on the event loop and by the verification
/// task, read once the channel has closed.
final class ProbeConnectionState: Sendable {
    struct Snapshot: Sendable {
        var verdict: ServedChainVerifier.Verdict?
        var handshakeCompleted = false
        var timedOut = false
        /// Whether the target needs no upgrade or the server agreed to it.
        var startTLSUpgraded = true
        var startTLSFailure: (ProbeFailureReason, String)?
        var tlsVersion: TLSVersion?
        var cipherSuite: UInt16?
        /// Errors seen on the pipeline, for classification and logs (text only).
        var errors: [String] = []
    }

    private let state = Mutex(Snapshot())

    func record(_ verdict: ServedChainVerifier.Verdict) { state.withLock { $0.verdict = verdict } }
    func markStartTLSPending() { state.withLock { $0.startTLSUpgraded = false } }
    func markStartTLSUpgraded() { state.withLock { $0.startTLSUpgraded = true } }
    func record(startTLSFailure reason: ProbeFailureReason, _ detail: String) {
        state.withLock { if $0.startTLSFailure == nil { $0.startTLSFailure = (reason, detail) } }
    }
    func markHandshakeCompleted(version: TLSVersion?) {
        state.withLock {
            $0.handshakeCompleted = true
            $0.tlsVersion = version
        }
    }
    func record(cipherSuite: UInt16) { state.withLock { $0.cipherSuite = cipherSuite } }
    func markTimedOut() {
        state.withLock { s in
            // After a completed handshake, the deadline only cuts the close exchange short.
            if !s.handshakeCompleted { s.timedOut = true }
        }
    }
    func record(error: any Error) { state.withLock { $0.errors.append(String(describing: error)) } }
    func snapshot() -> Snapshot { state.withLock { $0 } }
}

/// Sits after the TLS handler: notes the handshake and errors, and closes the connection right
/// after the handshake (close_notify, then waits for the server's answer or alert).
final class ProbeHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let state: ProbeConnectionState

    init(state: ProbeConnectionState) {
        self.state = state
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            state.markHandshakeCompleted(version: try? context.pipeline.syncOperations.nioSSL_tlsVersion())
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Application data is not the probe's business.
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.record(error: error)
        context.close(promise: nil)
    }
}

/// Speaks a target's plain-text upgrade (``StartTLSNegotiation``) before TLS: sends the opening
/// request when connected, feeds the answer to the negotiation, and on `upgrade` puts the TLS
/// handlers in the pipeline and leaves; a refusal or garbage closes the connection, recorded.
final class StartTLSHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var negotiation: StartTLSNegotiation
    private let state: ProbeConnectionState
    private let addTLS: (ChannelPipeline.SynchronousOperations) throws -> Void
    private var decided = false

    init(
        negotiation: StartTLSNegotiation, state: ProbeConnectionState,
        addTLS: @escaping (ChannelPipeline.SynchronousOperations) throws -> Void
    ) {
        self.negotiation = negotiation
        self.state = state
        self.addTLS = addTLS
        state.markStartTLSPending()
    }

    func channelActive(context: ChannelHandlerContext) {
        let opening = negotiation.opening
        if !opening.isEmpty { send(opening, context) }
        context.fireChannelActive()
    }

    private func send(_ bytes: [UInt8], _ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { return }
        let buffer = unwrapInboundIn(data)
        let step = negotiation.receive(buffer.readableBytesView)
        switch step {
        case .needMore:
            return
        case .send(let bytes):
            send(bytes, context)
        case .upgrade, .sendThenUpgrade:
            // Written from this handler, ahead of the TLS handlers added after it: the request
            // leaves in plain text, before the ClientHello.
            if case .sendThenUpgrade(let bytes) = step { send(bytes, context) }
            decided = true
            state.markStartTLSUpgraded()
            do {
                try addTLS(context.pipeline.syncOperations)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            } catch {
                state.record(error: error)
                context.close(promise: nil)
            }
        case .refused(let detail):
            fail(context, .startTLSRefused, detail)
        case .protocolError(let detail):
            fail(context, .startTLSProtocolError, detail)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed by the probe's own deadline: a stall, classified as a timeout.
        if !decided, !state.snapshot().timedOut {
            decided = true
            state.record(
                startTLSFailure: .startTLSProtocolError,
                "the server closed the connection before answering the \(negotiation.protocolKind.rawValue) upgrade")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.record(error: error)
        context.close(promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: ProbeFailureReason, _ detail: String) {
        decided = true
        state.record(startTLSFailure: reason, detail)
        context.close(promise: nil)
    }
}

/// Reads the cipher suite out of the server's ServerHello on its way to the TLS handler, then
/// only passes bytes on.
final class ServerHelloSniffer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let state: ProbeConnectionState
    private var seen: [UInt8]? = []

    init(state: ProbeConnectionState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if var bytes = seen {
            bytes.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            switch TLSServerHello.scan(bytes) {
            case .needMore:
                seen = bytes
            case .found(let suite):
                state.record(cipherSuite: suite)
                seen = nil
            case .notServerHello:
                seen = nil
            }
        }
        context.fireChannelRead(data)
    }
}
