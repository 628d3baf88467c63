import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing
import X509

/// A TLS server on 127.0.0.1 serving the SVID in a directory's `svid.pem` / `svid_key.pem`, as a
/// workload behind spiffe-helper does. With `.onChange` it picks up rewritten files for the next
/// connection (a server whose reload works); with `.never` it keeps what it loaded at start (a
/// server whose file watcher never fired). With `clientRoots` it requires a client certificate
/// chaining to them (mTLS) and records the SPIFFE IDs of the clients it accepted.
final class TestTLSServer: Sendable {
    enum Reload: Sendable {
        case onChange
        case never
    }

    let port: Int
    private let channel: any Channel
    private let provider: ContextProvider

    /// SPIFFE IDs (URI SANs) of the client certificates accepted so far.
    var acceptedClientIDs: [String] { provider.acceptedClientIDs }
    /// How many times the files were (re)loaded.
    var loads: Int { provider.loads }

    private init(port: Int, channel: any Channel, provider: ContextProvider) {
        self.port = port
        self.channel = channel
        self.provider = provider
    }

    /// `maximumTLSVersion` `.tlsv12` makes the server reject a missing client certificate inside
    /// the handshake; with TLS 1.3 the rejection comes after the client finished its handshake.
    /// SMTP before TLS: greeting, EHLO, STARTTLS (RFC 3207).
    enum SMTP: Sendable {
        case startTLS
        /// The EHLO reply lists no STARTTLS; the server never speaks TLS.
        case withoutStartTLS
    }

    static func start(
        directory: String, reload: Reload, clientRoots: [Certificate]? = nil, maximumTLSVersion: TLSVersion? = nil,
        smtp: SMTP? = nil
    ) async throws -> TestTLSServer {
        let provider = try ContextProvider(
            directory: directory, reload: reload, clientRoots: clientRoots, maximumTLSVersion: maximumTLSVersion)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let handler: NIOSSLServerHandler
                    let context = try provider.current()
                    if clientRoots != nil {
                        handler = NIOSSLServerHandler(
                            context: context, customVerificationCallback: provider.verifyClient)
                    } else {
                        handler = NIOSSLServerHandler(context: context)
                    }
                    if let smtp {
                        try child.pipeline.syncOperations.addHandler(SMTPPreamble(smtp, tls: handler))
                    } else {
                        try child.pipeline.syncOperations.addHandler(handler)
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = try #require(channel.localAddress?.port)
        return TestTLSServer(port: port, channel: channel, provider: provider)
    }

    /// Closes the listener (fire and forget, so it can run in a `defer`); open connections end
    /// with their probes.
    func stop() {
        channel.close(promise: nil)
    }

    /// Holds the TLS context built from the files; rebuilds it when they changed (`.onChange`).
    private final class ContextProvider: Sendable {
        private struct State: Sendable {
            var context: NIOSSLContext
            var files: [UInt8]
            var loads = 1
            var acceptedClientIDs: [String] = []
        }

        let directory: String
        let reload: Reload
        let clientRoots: [Certificate]?
        let maximumTLSVersion: TLSVersion?
        private let state: Mutex<State>

        init(directory: String, reload: Reload, clientRoots: [Certificate]?, maximumTLSVersion: TLSVersion?) throws {
            self.directory = directory
            self.reload = reload
            self.clientRoots = clientRoots
            self.maximumTLSVersion = maximumTLSVersion
            let files = try Self.read(directory)
            state = Mutex(
                State(
                    context: try Self.makeContext(
                        files, clientRoots: clientRoots, maximumTLSVersion: maximumTLSVersion),
                    files: files.cert + files.key))
        }

        var acceptedClientIDs: [String] { state.withLock { $0.acceptedClientIDs } }
        var loads: Int { state.withLock { $0.loads } }

        func current() throws -> NIOSSLContext {
            guard reload == .onChange, let files = try? Self.read(directory) else {
                return state.withLock { $0.context }
            }
            let combined = files.cert + files.key
            if state.withLock({ $0.files == combined }) { return state.withLock { $0.context } }
            // A half-written pair (spiffe-helper rewrites in place) fails here: keep serving the old one.
            guard
                let context = try? Self.makeContext(
                    files, clientRoots: clientRoots, maximumTLSVersion: maximumTLSVersion)
            else {
                return state.withLock { $0.context }
            }
            state.withLock { s in
                s.context = context
                s.files = combined
                s.loads += 1
            }
            return context
        }

        /// Checks a client certificate chain against `clientRoots` and records its SPIFFE ID.
        var verifyClient: NIOSSLCustomVerificationCallback {
            { [self] certificates, promise in
                let chainDER = certificates.map { (try? $0.toDERBytes()) ?? [] }
                let roots = clientRoots ?? []
                promise.completeWithTask {
                    let chain = chainDER.compactMap { try? Certificate(derEncoded: $0) }
                    guard let leaf = chain.first, chain.count == chainDER.count else { return .failed }
                    var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
                        RFC5280Policy(validationTime: Date())
                    }
                    let result = await verifier.validate(
                        leaf: leaf, intermediates: CertificateStore(Array(chain.dropFirst())))
                    guard case .validCertificate = result else { return .failed }
                    let uris = (try? leaf.extensions.subjectAlternativeNames)?.compactMap { name -> String? in
                        if case .uniformResourceIdentifier(let uri) = name { return uri }
                        return nil
                    }
                    self.state.withLock { $0.acceptedClientIDs.append(uris?.first ?? "") }
                    return .certificateVerified
                }
            }
        }

        static func read(_ directory: String) throws -> (cert: [UInt8], key: [UInt8]) {
            (
                Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/svid.pem"))),
                Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/svid_key.pem")))
            )
        }

        static func makeContext(
            _ files: (cert: [UInt8], key: [UInt8]), clientRoots: [Certificate]?, maximumTLSVersion: TLSVersion?
        ) throws -> NIOSSLContext {
            let chain = try NIOSSLCertificate.fromPEMBytes(files.cert)
            let key = try NIOSSLPrivateKey(bytes: files.key, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.maximumTLSVersion = maximumTLSVersion
            if let clientRoots {
                // Request and require a client certificate; the callback above verifies it.
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .certificates(
                    try clientRoots.map {
                        try NIOSSLCertificate(bytes: Array($0.serializeAsPEM().pemString.utf8), format: .pem)
                    })
            }
            return try NIOSSLContext(configuration: configuration)
        }
    }
}

/// The server side of SMTP's upgrade: greets, answers EHLO (with or without STARTTLS) and, on
/// STARTTLS, answers 220 in plain text and hands the connection to the TLS handler.
final class SMTPPreamble: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let mode: TestTLSServer.SMTP
    private let tls: NIOSSLServerHandler
    private var line: [UInt8] = []

    init(_ mode: TestTLSServer.SMTP, tls: NIOSSLServerHandler) {
        self.mode = mode
        self.tls = tls
    }

    func channelActive(context: ChannelHandlerContext) {
        reply("220 mx.test ESMTP", context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        for byte in unwrapInboundIn(data).readableBytesView {
            guard byte == UInt8(ascii: "\n") else {
                line.append(byte)
                continue
            }
            let command = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
            line = []
            if command.hasPrefix("EHLO") {
                reply(mode == .startTLS ? "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS" : "250-mx.test\r\n250 PIPELINING", context)
            } else if command == "STARTTLS", mode == .startTLS {
                reply("220 2.0.0 Ready to start TLS", context)
                do {
                    try context.pipeline.syncOperations.addHandler(tls, position: .after(self))
                    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                } catch {
                    context.close(promise: nil)
                }
                return
            } else {
                reply("502 5.5.2 command not recognized", context)
            }
        }
    }

    private func reply(_ text: String, _ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text + "\r\n")), promise: nil)
    }
}

/// A TCP listener on 127.0.0.1 that accepts connections and never says a word (not TLS): a probe
/// of it can only time out.
final class SilentServer: Sendable {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start() async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return SilentServer(port: try #require(channel.localAddress?.port), channel: channel)
    }

    func stop() {
        channel.close(promise: nil)
    }
}

/// A local port nobody listens on (bound, read, released).
func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0)
        .get()
    let port = try #require(channel.localAddress?.port)
    try await channel.close()
    return port
}
