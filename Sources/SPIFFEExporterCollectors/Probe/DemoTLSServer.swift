import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A workload's TLS endpoint for `spiffe-exporter demo`: presents the SVID `identity` returns and
/// requires a client certificate that chains to `clientRootsPEM` (mTLS, as SPIFFE workloads do).
/// With `reloads` it picks up a rotated SVID for the next connection; without, it keeps the first
/// one for ever, the missed reload the served-certificate probe exists to catch.
public final class DemoTLSServer: Service, Sendable {
    /// PEM texts of a leaf (+ intermediates) and its private key.
    public typealias Identity = (chainPEM: String, keyPEM: String)

    public var port: Int { listener.port }
    private let listener: DemoListener
    private let logger: Logger

    private init(listener: DemoListener, logger: Logger) {
        self.listener = listener
        self.logger = logger
    }

    /// Binds `host` on an ephemeral port and starts accepting connections.
    public static func start(
        host: String = "127.0.0.1",
        reloads: Bool,
        logger: Logger,
        identity: @escaping @Sendable () -> Identity?,
        clientRootsPEM: @escaping @Sendable () -> String
    ) async throws -> DemoTLSServer {
        let contexts = Contexts(reloads: reloads, identity: identity, clientRootsPEM: clientRootsPEM, logger: logger)
        _ = try contexts.current()
        let listener = try await DemoListener.bind(host: host) { pipeline in
            try pipeline.addHandler(NIOSSLServerHandler(context: try contexts.current()))
        }
        return DemoTLSServer(listener: listener, logger: logger)
    }

    /// Serves until graceful shutdown, then closes the listener.
    public func run() async throws {
        await listener.run(logger: logger, "demo TLS server listening")
    }

    /// The current TLS context, rebuilt when the identity or roots change (if `reloads`).
    private final class Contexts: Sendable {
        private struct Loaded: Sendable {
            var fingerprint: String
            var context: NIOSSLContext
        }

        let reloads: Bool
        let identity: @Sendable () -> Identity?
        let clientRootsPEM: @Sendable () -> String
        let logger: Logger
        private let loaded = Mutex<Loaded?>(nil)

        init(
            reloads: Bool, identity: @escaping @Sendable () -> Identity?,
            clientRootsPEM: @escaping @Sendable () -> String,
            logger: Logger
        ) {
            self.reloads = reloads
            self.identity = identity
            self.clientRootsPEM = clientRootsPEM
            self.logger = logger
        }

        func current() throws -> NIOSSLContext {
            let previous = loaded.withLock { $0 }
            if let previous, !reloads { return previous.context }
            guard let identity = identity() else {
                if let previous { return previous.context }
                throw NIOSSLError.failedToLoadCertificate
            }
            let roots = clientRootsPEM()
            let fingerprint = identity.chainPEM + identity.keyPEM + roots
            if let previous, previous.fingerprint == fingerprint { return previous.context }
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(identity.chainPEM.utf8)).map {
                    .certificate($0)
                },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.keyPEM.utf8), format: .pem)))
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(roots.utf8)))
            let context = try NIOSSLContext(configuration: configuration)
            loaded.withLock { $0 = Loaded(fingerprint: fingerprint, context: context) }
            if previous != nil { logger.info("demo TLS server reloaded its SVID") }
            return context
        }
    }
}
