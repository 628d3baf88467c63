import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import SPIFFEExporterCore
import SwiftASN1
import Synchronization
import X509

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One X.509-SVID the exporter holds, with the bundles that came with it: what the SPIFFE scrape
/// path serves and verifies clients against. The executable fills it from the identity store, so
/// this module does not depend on the collectors.
public struct SPIFFEServingIdentity: Sendable {
    public var material: X509SVIDMaterial
    public var bundles: BundleSet

    public init(material: X509SVIDMaterial, bundles: BundleSet) {
        self.material = material
        self.bundles = bundles
    }
}

/// The SVIDs an identity source (`workload_api`) currently holds, newest state, cheap to call.
public typealias SPIFFEIdentityLookup = @Sendable (_ source: String) -> [SPIFFEServingIdentity]

/// Hands each new connection the TLS handler for the current certificate material.
protocol TLSHandlerFactory: Sendable {
    func makeHandler() throws -> NIOSSLServerHandler
}

/// Like HummingbirdTLS's `TLSChannel`, but asks for the TLS context per connection, so certificate
/// files and SVIDs can change without a restart.
struct ReloadingTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let tls: any TLSHandlerFactory

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(try tls.makeHandler())
        }.flatMapError { error in
            // Nothing to serve (no SVID yet): hang up at once instead of leaving the client waiting.
            logger.debug("TLS connection refused", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension ReloadingTLSChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}

extension TLSProtocolVersion {
    var nio: TLSVersion {
        switch self {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }
}

/// Go's cipher suite names (what exporter-toolkit accepts) and the ones BoringSSL can use.
enum TLSCipherSuites {
    static let byGoName: [String: NIOTLSCipher] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
        "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        // Go's older aliases for the ChaCha20 suites.
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Every name Go's crypto/tls knows (tls.CipherSuites() + tls.InsecureCipherSuites()); those
    /// not in ``byGoName`` are accepted with a warning.
    static let goNames: Set<String> = Set(byGoName.keys).union([
        "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    ])
}

// MARK: Certificate files (tls_server_config)

/// What identifies one version of a file: a rewrite, an atomic rename or a Kubernetes secret
/// symlink swap all change it.
struct FileStamp: Equatable, Sendable {
    var path: String
    var exists: Bool
    var device: UInt64 = 0
    var inode: UInt64 = 0
    var size: Int64 = 0
    var modifiedSeconds: Int = 0
    var modifiedNanoseconds: Int = 0

    init(path: String) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            exists = false
            return
        }
        exists = true
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int(info.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int(info.st_mtimespec.tv_nsec)
        #else
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        #endif
    }
}

/// The TLS context built from `tls_server_config`, rebuilt when the certificate, key or client CA
/// file changes. Files are checked on new connections, at most once per `checkInterval`; a
/// rebuild that fails (half-written files, key not matching) keeps the previous context and is
/// logged once per file state.
final class FileTLSSource: TLSHandlerFactory {
    struct Loaded: Sendable {
        var context: NIOSSLContext
        var clientCheck: ClientCertificateCheck?
        var stamps: [FileStamp]
        var serial: String
        var notAfter: Date?
    }

    private struct State: Sendable {
        var loaded: Loaded
        var lastCheck: ContinuousClock.Instant
        var failedStamps: [FileStamp]?
    }

    let configuration: TLSServerConfiguration
    let checkInterval: Duration
    let logger: Logger
    private let state: Mutex<State>

    init(configuration: TLSServerConfiguration, checkInterval: Duration, logger: Logger) throws(WebConfigurationError) {
        self.configuration = configuration
        self.checkInterval = checkInterval
        self.logger = logger
        let loaded = try Self.load(configuration, stamps: Self.stamps(configuration))
        state = Mutex(State(loaded: loaded, lastCheck: .now))
    }

    func makeHandler() throws -> NIOSSLServerHandler {
        let loaded = current()
        if let check = loaded.clientCheck {
            return NIOSSLServerHandler(
                context: loaded.context, customVerificationCallback: check.callback(logger: logger))
        }
        return NIOSSLServerHandler(context: loaded.context)
    }

    /// The context to use now, reloading first if a file changed.
    func current() -> Loaded {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard now - state.lastCheck >= checkInterval else { return state.loaded }
            state.lastCheck = now
            let stamps = Self.stamps(configuration)
            guard stamps != state.loaded.stamps, stamps != state.failedStamps else { return state.loaded }
            do {
                let loaded = try Self.load(configuration, stamps: stamps)
                logger.info(
                    "TLS certificate files reloaded",
                    metadata: [
                        "cert_file": "\(configuration.certFile)", "serial": "\(loaded.serial)",
                        "previous_serial": "\(state.loaded.serial)",
                        "not_after": "\(loaded.notAfter.map { RFC3339.string(from: $0) } ?? "-")",
                    ])
                state.loaded = loaded
                state.failedStamps = nil
            } catch {
                state.failedStamps = stamps
                logger.error(
                    "TLS certificate files changed but cannot be loaded; still serving the previous certificate",
                    metadata: ["error": "\(error)", "serial": "\(state.loaded.serial)"])
            }
            return state.loaded
        }
    }

    static func stamps(_ configuration: TLSServerConfiguration) -> [FileStamp] {
        ([configuration.certFile, configuration.keyFile] + (configuration.clientCAFile.map { [$0] } ?? [])).map(
            FileStamp.init)
    }

    /// Reads the files and builds the context; `stamps` were taken before reading, so a write that
    /// races with this read is seen as a change at the next check.
    static func load(_ configuration: TLSServerConfiguration, stamps: [FileStamp]) throws(WebConfigurationError)
        -> Loaded
    {
        let chain = try certificates(file: configuration.certFile, field: "cert_file")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: try read(configuration.keyFile, field: "key_file"), format: .pem)
        } catch let error as WebConfigurationError {
            throw error
        } catch {
            throw badFile("key_file", configuration.keyFile, "not a PEM private key: \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = configuration.minVersion.nio
        tls.maximumTLSVersion = configuration.maxVersion.nio
        let ciphers = configuration.cipherSuites.compactMap { TLSCipherSuites.byGoName[$0] }
        if !ciphers.isEmpty { tls.cipherSuiteValues = ciphers }

        var caCertificates: [Certificate] = []
        if let caFile = configuration.clientCAFile {
            let cas = try certificates(file: caFile, field: "client_ca_file")
            tls.trustRoots = .certificates(cas)
            for ca in cas {
                do {
                    caCertificates.append(try Certificate(derEncoded: try ca.toDERBytes()))
                } catch {
                    throw badFile("client_ca_file", caFile, "certificate does not decode: \(error)")
                }
            }
        } else {
            // Never consult the system store for clients: only the configured CAs count.
            tls.trustRoots = .certificates([])
        }
        let sans = configuration.clientAllowedSANs
        var check: ClientCertificateCheck?
        switch configuration.clientAuthType {
        case .noClientCert:
            tls.certificateVerification = .none
        case .requestClientCert, .requireAnyClientCert:
            // Asked for but not verified (Go semantics); only client_allowed_sans is enforced.
            tls.certificateVerification =
                configuration.clientAuthType.requiresCertificate ? .noHostnameVerification : .optionalVerification
            check = ClientCertificateCheck(roots: nil, allowedSANs: sans)
        case .verifyClientCertIfGiven, .requireAndVerifyClientCert:
            tls.certificateVerification =
                configuration.clientAuthType.requiresCertificate ? .noHostnameVerification : .optionalVerification
            // BoringSSL verifies against trustRoots; a custom check replaces it when SANs are
            // restricted, and then verifies the chain itself.
            if !sans.isEmpty { check = ClientCertificateCheck(roots: caCertificates, allowedSANs: sans) }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw badFile(
                "cert_file", configuration.certFile,
                "certificate and key_file \(configuration.keyFile) cannot be used: \(error)")
        }
        let leaf = try? Certificate(derEncoded: try chain[0].toDERBytes())
        return Loaded(
            context: context, clientCheck: check, stamps: stamps, serial: leaf.map { "\($0.serialNumber)" } ?? "?",
            notAfter: leaf?.notValidAfter)
    }

    static func certificates(file: String, field: String) throws(WebConfigurationError) -> [NIOSSLCertificate] {
        let bytes = try read(file, field: field)
        if let blocks = try? PEM.parse(bytes), !blocks.contains(where: { $0.type == "CERTIFICATE" }) {
            throw badFile(field, file, "holds no CERTIFICATE block")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw badFile(field, file, "not PEM certificates: \(error)")
        }
        guard !certificates.isEmpty else { throw badFile(field, file, "holds no CERTIFICATE block") }
        return certificates
    }

    static func read(_ path: String, field: String) throws(WebConfigurationError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw badFile(field, path, "cannot read: \(error.localizedDescription)")
        }
    }

    static func badFile(_ field: String, _ path: String, _ message: String) -> WebConfigurationError {
        WebConfigurationError(code: .badTLSFile, message: "tls_server_config.\(field) \(path): \(message)")
    }
}

/// Client certificate rules BoringSSL cannot express: `client_allowed_sans`, and accepting
/// without verification (`RequestClientCert`, `RequireAnyClientCert`).
struct ClientCertificateCheck: Sendable {
    /// Verify the chain against these roots; `nil` skips chain verification.
    var roots: [Certificate]?
    /// The leaf must carry one of these SANs; empty allows any.
    var allowedSANs: [String]

    func callback(logger: Logger) -> NIOSSLCustomVerificationCallback {
        { certificates, promise in
            let der = certificates.compactMap { try? $0.toDERBytes() }
            guard der.count == certificates.count else {
                promise.succeed(.failed)
                return
            }
            promise.completeWithTask {
                let verdict = await self.verify(der)
                if let reason = verdict {
                    logger.warning("client certificate rejected", metadata: ["reason": "\(reason)"])
                    return .failed
                }
                return .certificateVerified
            }
        }
    }

    /// `nil` when the chain is acceptable, else why not.
    func verify(_ chain: [[UInt8]]) async -> String? {
        guard let leafDER = chain.first, let leaf = try? Certificate(derEncoded: leafDER) else {
            return "no decodable client certificate"
        }
        if !allowedSANs.isEmpty {
            let names = ClientSANs.names(of: leaf)
            guard names.contains(where: allowedSANs.contains) else {
                return "none of the certificate's SANs \(names) is in client_allowed_sans"
            }
        }
        guard let roots else { return nil }
        var intermediates: [Certificate] = []
        for der in chain.dropFirst() {
            guard let certificate = try? Certificate(derEncoded: der) else { return "undecodable intermediate" }
            intermediates.append(certificate)
        }
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy()
            ClientLeafPolicy()
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        if case .validCertificate = result { return nil }
        return "chain does not verify against client_ca_file"
    }
}

/// SAN strings compared with `client_allowed_sans`, spelled as Go prints them.
enum ClientSANs {
    static func names(of certificate: Certificate) -> [String] {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { name in
            switch name {
            case .dnsName(let text), .rfc822Name(let text), .uniformResourceIdentifier(let text): text
            case .ipAddress(let octets): ipString(octets.bytes)
            default: nil
            }
        }
    }

    static func ipString(_ bytes: ArraySlice<UInt8>) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = Array(bytes).withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A client leaf's SAN and EKU extensions (often critical) are understood here; an EKU, if
/// present, must allow client authentication, as Go's verifier requires.
struct ClientLeafPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.subjectAlternativeName,
        .X509ExtensionID.extendedKeyUsage,
    ]

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        guard let usage = try? chain.leaf.extensions.extendedKeyUsage else { return .meetsPolicy }
        if usage.contains(.clientAuth) || usage.contains(.any) { return .meetsPolicy }
        return .failsToMeetPolicy(reason: "client certificate's extendedKeyUsage does not allow clientAuth")
    }
}

// MARK: The exporter's own SVID (spiffe_tls_config)

/// Serves the exporter's current X.509-SVID from an identity source, rebuilding the TLS context
/// whenever the SVID rotates, and requires client SVIDs: each client chain is verified against the
/// bundle of the client's trust domain (the exporter's own or a federated one) with the same
/// SPIFFE checks the exporter applies to its own SVIDs, and the client's SPIFFE ID must be allowed.
final class SPIFFETLSSource: TLSHandlerFactory {
    private struct Cached: Sendable {
        var chain: [Certificate]
        var context: NIOSSLContext
    }

    private struct State: Sendable {
        var cached: Cached?
        /// Last reason no SVID could be served, logged once per change.
        var lastProblem: String?
    }

    let configuration: SPIFFETLSConfiguration
    let lookup: SPIFFEIdentityLookup
    let clock: @Sendable () -> Date
    let logger: Logger
    private let state = Mutex(State())

    init(
        configuration: SPIFFETLSConfiguration, lookup: @escaping SPIFFEIdentityLookup, logger: Logger,
        clock: @escaping @Sendable () -> Date
    ) {
        self.configuration = configuration
        self.lookup = lookup
        self.logger = logger
        self.clock = clock
    }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    func makeHandler() throws -> NIOSSLServerHandler {
        let context = try currentContext()
        return NIOSSLServerHandler(
            context: context,
            customVerificationCallback: { [self] certificates, promise in
                let der = certificates.compactMap { try? $0.toDERBytes() }
                guard der.count == certificates.count else {
                    promise.succeed(.failed)
                    return
                }
                promise.completeWithTask {
                    switch await self.verifyClient(der) {
                    case .success: return .certificateVerified
                    case .failure(let rejection):
                        self.logger.warning(
                            "SPIFFE client rejected",
                            metadata: ["spiffe_id": "\(rejection.spiffeID ?? "-")", "reason": "\(rejection.reason)"])
                        return .failed
                    }
                }
            })
    }

    /// The SVID to serve: the configured SPIFFE ID, else the source's first (default) SVID.
    func servingIdentity() -> SPIFFEServingIdentity? {
        let usable = lookup(configuration.source).filter { $0.material.leaf != nil && $0.material.privateKey != nil }
        guard let wanted = configuration.spiffeID else { return usable.first }
        return usable.first { identity in
            identity.material.leaf.map { CertificateFacts($0).uriSANs == [wanted] } ?? false
        }
    }

    func currentContext() throws -> NIOSSLContext {
        guard let identity = servingIdentity(), let leaf = identity.material.leaf,
            let key = identity.material.privateKey
        else {
            let problem =
                "no X.509-SVID to serve from source \(configuration.source)"
                + (configuration.spiffeID.map { " with SPIFFE ID \($0)" } ?? "")
            noteProblem(problem)
            throw Unavailable(description: problem)
        }
        let chain = [leaf] + identity.material.intermediates
        return try state.withLock { state in
            if let cached = state.cached, cached.chain == chain { return cached.context }
            let context: NIOSSLContext
            do {
                context = try Self.context(chain: chain, key: key, minimumVersion: configuration.minVersion.nio)
            } catch {
                let problem = "the X.509-SVID cannot be served: \(error)"
                if state.lastProblem != problem {
                    state.lastProblem = problem
                    logger.error("SPIFFE TLS: \(problem)")
                }
                throw Unavailable(description: problem)
            }
            let facts = CertificateFacts(leaf)
            logger.info(
                "SPIFFE TLS: serving X.509-SVID",
                metadata: [
                    "spiffe_id": "\(facts.uriSANs.first ?? "-")", "serial": "\(facts.serialNumber)",
                    "not_after": "\(RFC3339.string(from: facts.notAfter))",
                ])
            state.cached = Cached(chain: chain, context: context)
            state.lastProblem = nil
            return context
        }
    }

    private func noteProblem(_ problem: String) {
        let changed = state.withLock { state in
            defer { state.lastProblem = problem }
            return state.lastProblem != problem
        }
        if changed { logger.warning("SPIFFE TLS: \(problem); refusing connections until one arrives") }
    }

    static func context(chain: [Certificate], key: Certificate.PrivateKey, minimumVersion: TLSVersion) throws
        -> NIOSSLContext
    {
        let certificates = try chain.map { certificate in
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
        }
        let privateKey = try NIOSSLPrivateKey(bytes: Array(try key.serializeAsPEM().pemString.utf8), format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        tls.minimumTLSVersion = minimumVersion
        // A client certificate is required; the custom callback does all the verifying.
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates([])
        return try NIOSSLContext(configuration: tls)
    }

    struct Rejection: Error {
        var spiffeID: String?
        var reason: String
    }

    /// Verifies a client chain (DER, leaf first) as an X.509-SVID and authorizes its SPIFFE ID.
    func verifyClient(_ chain: [[UInt8]]) async -> Result<SPIFFEID, Rejection> {
        var certificates: [Certificate] = []
        for der in chain {
            guard let certificate = try? Certificate(derEncoded: der) else {
                return .failure(Rejection(reason: "client certificate does not decode"))
            }
            certificates.append(certificate)
        }
        guard let leaf = certificates.first else { return .failure(Rejection(reason: "no client certificate")) }
        guard let identity = servingIdentity() else {
            return .failure(Rejection(reason: "no trust bundle: the exporter holds no X.509-SVID"))
        }
        var bundles = identity.bundles.byTrustDomain
        if let own = identity.bundles.own, let ownLeaf = identity.material.leaf,
            let ownID = CertificateFacts(ownLeaf).uriSANs.first,
            let ownDomain = try? SPIFFEID(parsing: ownID).trustDomain
        {
            var named = own
            named.trustDomain = ownDomain
            bundles[ownDomain] = named
        }
        let material = X509SVIDMaterial(
            reportedSPIFFEID: nil, leaf: leaf, intermediates: Array(certificates.dropFirst()), privateKey: nil,
            keyExpected: false)
        let now = clock()
        let report = await X509SVIDAnalyzer.analyze(
            material, bundles: BundleSet(own: nil, byTrustDomain: bundles), now: now)
        let problems = report.problems(at: now)
        guard problems.isEmpty, report.chainTrusted == true else {
            let reasons = problems.isEmpty ? "chain_untrusted" : problems.map(\.rawValue).joined(separator: ",")
            return .failure(Rejection(spiffeID: report.spiffeID, reason: "not a valid X.509-SVID: \(reasons)"))
        }
        guard let id = try? SPIFFEID(parsing: report.spiffeID) else {
            return .failure(Rejection(spiffeID: report.spiffeID, reason: "invalid SPIFFE ID"))
        }
        guard configuration.allows(id) else {
            return .failure(
                Rejection(
                    spiffeID: id.description, reason: "SPIFFE ID not in allowed_spiffe_ids or allowed_trust_domains"))
        }
        return .success(id)
    }
}
