import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SVIDFactory
import X509

/// Faults of a simulated federation bundle endpoint, each a way a real one (or what stands at its
/// URL) goes wrong.
public enum FederationEndpointFault: String, Sendable, Hashable, CaseIterable {
    case none
    /// A key whose `x5c` decodes from base64 but is no certificate.
    case garbageX5C = "garbage-x5c"
    /// A 100 MB `Content-Length`, then bytes.
    case hugeBody = "huge-body"
    /// `302 Found` to itself (a redirect loop for a client that follows redirects).
    case redirectLoop = "redirect-loop"
    /// Another trust domain's bundle.
    case wrongTrustDomain = "wrong-trust-domain"
    /// Accepts and completes TLS, never answers.
    case silent
}

extension WorkloadAPISimulator {
    /// CA rotation of a federated trust domain as its SPIRE server does it: a new root joins what
    /// the bundle endpoint serves (sequence + 1); the agent's copy is unchanged until
    /// ``deliverFederatedBundle(trustDomain:)`` (the SPIRE server refreshes federated bundles at
    /// the endpoint's refresh hint, then the agents sync).
    public func prepareNextFederatedCA(trustDomain: String) throws {
        let now = clock()
        let next = try SVIDFactory.rootCA(
            trustDomain: trustDomain, notBefore: now.addingTimeInterval(-Self.caBackdating),
            notAfter: now.addingTimeInterval(configuration.caTTL))
        state.withLock { s in
            guard s.endpointRoots[trustDomain] != nil else { return }
            s.endpointRoots[trustDomain, default: []].append(next)
            s.endpointSequence[trustDomain, default: 0] += 1
        }
    }

    /// The agent catches up with the bundle endpoint: its federated bundle becomes what the
    /// endpoint serves.
    public func deliverFederatedBundle(trustDomain: String) {
        state.withLock { s in
            if let roots = s.endpointRoots[trustDomain] { s.federated[trustDomain] = roots }
        }
        broadcast()
    }

    public func setFederationEndpointFault(_ fault: FederationEndpointFault) {
        state.withLock { $0.endpointFault = fault }
    }

    /// The roots the bundle endpoint of `trustDomain` serves, oldest first.
    public func federationEndpointRoots(trustDomain: String) -> [IssuedCA] {
        state.withLock { $0.endpointRoots[trustDomain] ?? [] }
    }

    /// `nil`: no answer at all (``FederationEndpointFault/silent``).
    func federationEndpointResponse(trustDomain: String) -> [UInt8]? {
        let s = state.withLock { $0 }
        func ok(_ body: [UInt8], length: Int? = nil) -> [UInt8] {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(length ?? body.count)\r\nConnection: close\r\n\r\n"
            return Array(head.utf8) + body
        }
        let roots = s.endpointRoots[trustDomain] ?? []
        let sequence = s.endpointSequence[trustDomain] ?? 0
        let jwt = s.federatedJWTAuthorities[trustDomain].map { [$0] } ?? []
        switch s.endpointFault {
        case .none:
            return ok(Self.federationBundle(roots: roots.map(\.certificate), jwt: jwt, sequence: sequence))
        case .garbageX5C:
            return ok(Array(#"{"keys":[{"kty":"EC","use":"x509-svid","x5c":["bm90IGEgY2VydGlmaWNhdGU="]}],"spiffe_sequence":1}"#.utf8))
        case .hugeBody:
            return ok(Array(repeating: UInt8(ascii: " "), count: 64 << 10), length: 100_000_000)
        case .redirectLoop:
            return Array("HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        case .wrongTrustDomain:
            // The simulated agent's own trust domain: a real endpoint misconfigured to serve it.
            return ok(Self.federationBundle(roots: s.bundleRoots.map(\.certificate), jwt: [s.jwtAuthority], sequence: sequence))
        case .silent:
            return nil
        }
    }

    /// A SPIFFE bundle (SPIFFE Trust Domain and Bundle spec §4) with a 60 s refresh hint.
    static func federationBundle(roots: [Certificate], jwt: [JWTAuthority], sequence: UInt64) -> [UInt8] {
        var keys: [[String: Any]] = roots.map { root in
            ["kty": "EC", "use": "x509-svid", "x5c": [Data(SVIDFactory.der(root)).base64EncodedString()]]
        }
        keys += jwt.map { authority in
            var key: [String: Any] = authority.jwk
            key["use"] = "jwt-svid"
            return key
        }
        let object: [String: Any] = ["keys": keys, "spiffe_sequence": sequence, "spiffe_refresh_hint": 60]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}

/// The federation bundle endpoint of one federated trust domain, on 127.0.0.1 over HTTPS with
/// the `https_spiffe` profile: it presents `spiffe://<trust domain>/spire/server`, issued by that
/// trust domain's first root, as a SPIRE server's bundle endpoint does.
public final class FederationBundleEndpoint: Sendable {
    public let trustDomain: String
    public let port: Int
    private let channel: any Channel

    public var url: String { "https://127.0.0.1:\(port)/" }
    public var endpointSPIFFEID: String { "spiffe://\(trustDomain)/spire/server" }

    private init(trustDomain: String, port: Int, channel: any Channel) {
        self.trustDomain = trustDomain
        self.port = port
        self.channel = channel
    }

    public static func start(simulator: WorkloadAPISimulator, trustDomain: String) async throws -> FederationBundleEndpoint {
        guard let root = simulator.federationEndpointRoots(trustDomain: trustDomain).first else {
            throw SimulatorError("\(trustDomain) is not a federated trust domain of the simulator")
        }
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://\(trustDomain)/spire/server", issuer: root, notBefore: root.certificate.notValidBefore,
            notAfter: root.certificate.notValidAfter)
        let chain = try svid.chain.map {
            try NIOSSLCertificate(bytes: Array(try $0.serializeAsPEM().pemString.utf8), format: .pem)
        }
        let key = try NIOSSLPrivateKey(bytes: Array(svid.keyPEM.utf8), format: .pem)
        let context = try NIOSSLContext(
            configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try child.pipeline.syncOperations.addHandler(
                        BundleRequestHandler { simulator.federationEndpointResponse(trustDomain: trustDomain) })
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw SimulatorError("the federation bundle endpoint has no port")
        }
        return FederationBundleEndpoint(trustDomain: trustDomain, port: port, channel: channel)
    }

    public func stop() async {
        try? await channel.close()
    }
}

public struct SimulatorError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Answers the first request on a connection (up to its blank line) with the endpoint's current
/// response, then closes; a silent endpoint keeps the connection open without a word.
private final class BundleRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let respond: @Sendable () -> [UInt8]?
    private var request: [UInt8] = []
    private var answered = false

    init(respond: @escaping @Sendable () -> [UInt8]?) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        request += unwrapInboundIn(data).readableBytesView
        // A GET has no body: the request ends at its blank line. A client sending kilobytes of
        // headers is not a bundle client.
        guard request.count > 16 << 10 || request.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) else { return }
        answered = true
        guard let response = respond() else { return }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: response))).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
