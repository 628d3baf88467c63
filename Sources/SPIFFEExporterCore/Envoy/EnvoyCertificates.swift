import Foundation

/// One certificate as Envoy's admin `GET /certs` describes it (no DER: serial, SANs, validity).
public struct EnvoyCertificate: Sendable, Hashable {
    /// Hex, as Envoy prints it.
    public var serialNumber: String
    /// Validated SPIFFE IDs among the URI SANs; other URIs and DNS names are dropped.
    public var spiffeIDs: [SPIFFEID]
    public var notBefore: Date
    public var notAfter: Date

    public init(serialNumber: String, spiffeIDs: [SPIFFEID], notBefore: Date, notAfter: Date) {
        self.serialNumber = serialNumber
        self.spiffeIDs = spiffeIDs
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// The SVID's SPIFFE ID: the first URI SAN that is a SPIFFE ID with a path.
    public var svidID: SPIFFEID? { spiffeIDs.first { !$0.isTrustDomainID } }
}

/// One `certificates[]` entry: one TLS context of Envoy (a listener's or an upstream cluster's).
public struct EnvoyTLSContext: Sendable, Hashable {
    public var caCertificates: [EnvoyCertificate]
    public var chain: [EnvoyCertificate]

    public init(caCertificates: [EnvoyCertificate], chain: [EnvoyCertificate]) {
        self.caCertificates = caCertificates
        self.chain = chain
    }

    /// The SVID leaves of the context: the `cert_chain` entries with a SPIFFE ID that has a path.
    /// Envoy lists one entry per configured TLS certificate (two for an RSA + ECDSA pair), the
    /// leaf first should it list a chain; an intermediate (URI SAN `spiffe://td`, or none) is
    /// no SVID, so the rule holds either way.
    public var leaves: [(id: SPIFFEID, certificate: EnvoyCertificate)] {
        chain.compactMap { certificate in certificate.svidID.map { ($0, certificate) } }
    }

    /// The trust domain a CA of this context counts for: its own `spiffe://td` URI SAN (a SPIRE
    /// CA has one); otherwise the trust domain of this context's SVIDs when they all share one;
    /// otherwise none (the CA is counted in `spiffe_envoy_certificates` only).
    public func trustDomain(of ca: EnvoyCertificate) -> String? {
        if let own = ca.spiffeIDs.first { return own.trustDomain }
        let domains = Set(leaves.map(\.id.trustDomain))
        return domains.count == 1 ? domains.first : nil
    }
}

/// What Envoy holds for one SPIFFE ID, over every context that presents an SVID for it.
public struct EnvoySVID: Sendable, Hashable {
    public let spiffeID: String
    /// Every leaf Envoy holds for the ID (one per context, or more), earliest NotAfter first:
    /// never empty.
    public let leaves: [EnvoyCertificate]

    public init(spiffeID: String, leaf: EnvoyCertificate, more: [EnvoyCertificate] = []) {
        self.spiffeID = spiffeID
        leaves = ([leaf] + more).sorted { ($0.notAfter, $0.notBefore) < ($1.notAfter, $1.notBefore) }
    }

    /// The earliest NotAfter: the first of Envoy's copies of this identity to expire.
    public var earliest: EnvoyCertificate { leaves[0] }

    /// How Envoy's copies compare with `newest`, the newest SVID known for the ID from the other
    /// sources: the probe's rule (``ServedSVIDFreshness``) for each leaf; stale as soon as one is,
    /// unknown when nothing else knows the ID.
    public func freshness(newest: CertificateFacts?) -> ServedSVIDFreshness {
        var verdict = ServedSVIDFreshness.unknown
        for leaf in leaves {
            let one = ServedSVIDFreshness.compare(
                servedSerialNumber: leaf.serialNumber, servedNotBefore: leaf.notBefore, servedNotAfter: leaf.notAfter,
                newest: newest)
            switch one {
            case .stale: return one
            case .current: verdict = .current
            case .unknown: break
            }
        }
        return verdict
    }
}

/// The certificates Envoy's admin `GET /certs` lists, decoded defensively: Envoy 1.40's JSON
/// (`{"certificates":[{"ca_cert":[...],"cert_chain":[...]}]}`, each certificate with
/// `serial_number`, `subject_alt_names[]`, `valid_from`, `expiration_time` as RFC 3339 text).
/// Unknown fields are ignored; `ca_cert` and `cert_chain` may be empty or absent.
public struct EnvoyCertificates: Sendable, Hashable {
    /// Reading stops here: Envoy's answer for even hundreds of contexts is far smaller.
    public static let maximumBodySize = 4 << 20

    public var contexts: [EnvoyTLSContext]
    /// When the exporter received the answer.
    public var observedAt: Date

    public init(contexts: [EnvoyTLSContext], observedAt: Date) {
        self.contexts = contexts
        self.observedAt = observedAt
    }

    public struct Failure: Error, Sendable, Hashable {
        public var reason: EnvoyFailureReason
        /// For logs only: what is wrong, never response bytes.
        public var detail: String

        public init(_ reason: EnvoyFailureReason, _ detail: String) {
            self.reason = reason
            self.detail = detail
        }
    }

    /// `spiffe_envoy_certificates`: every certificate listed, CAs and chains of every context.
    public var certificateCount: Int { contexts.reduce(0) { $0 + $1.caCertificates.count + $1.chain.count } }

    /// One entry per SPIFFE ID Envoy holds an SVID for, sorted by ID.
    public var svids: [EnvoySVID] {
        var byID: [String: [EnvoyCertificate]] = [:]
        for context in contexts {
            for leaf in context.leaves { byID[leaf.id.description, default: []].append(leaf.certificate) }
        }
        return byID.sorted { $0.key < $1.key }.compactMap { id, leaves in
            leaves.first.map { EnvoySVID(spiffeID: id, leaf: $0, more: Array(leaves.dropFirst())) }
        }
    }

    /// The earliest NotAfter among the CAs of each trust domain (see ``EnvoyTLSContext/trustDomain(of:)``).
    public var caExpiryByTrustDomain: [String: Date] {
        var earliest: [String: Date] = [:]
        for context in contexts {
            for ca in context.caCertificates {
                guard let domain = context.trustDomain(of: ca) else { continue }
                earliest[domain] = min(earliest[domain] ?? ca.notAfter, ca.notAfter)
            }
        }
        return earliest
    }

    // MARK: Decoding

    private struct Body: Decodable {
        var certificates: [Context]?
    }

    private struct Context: Decodable {
        var ca_cert: [Details]?
        var cert_chain: [Details]?
    }

    private struct Details: Decodable {
        var serial_number: String?
        var subject_alt_names: [SAN]?
        var valid_from: String?
        var expiration_time: String?
    }

    private struct SAN: Decodable {
        var uri: String?
    }

    /// Decodes one answer of `/certs` received at `now`. Anything that is not Envoy's JSON is a
    /// `malformed` failure, never a crash; hostile SAN text never survives unvalidated.
    public static func parse(_ bytes: [UInt8], now: Date) -> Result<EnvoyCertificates, Failure> {
        guard bytes.count <= maximumBodySize else {
            return .failure(Failure(.bodyTooLarge, "\(bytes.count) bytes"))
        }
        guard let first = bytes.first(where: { !isSpace($0) }), first == UInt8(ascii: "{") else {
            return .failure(Failure(.malformed, "not a JSON object"))
        }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch {
            return .failure(Failure(.malformed, "not Envoy's /certs JSON: \(describe(error))"))
        }
        guard let entries = body.certificates else {
            return .failure(Failure(.malformed, "no \"certificates\" array"))
        }
        var contexts: [EnvoyTLSContext] = []
        contexts.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            var cas: [EnvoyCertificate] = []
            var chain: [EnvoyCertificate] = []
            for (kind, list) in [("ca_cert", entry.ca_cert), ("cert_chain", entry.cert_chain)] {
                for (position, details) in (list ?? []).enumerated() {
                    switch certificate(details) {
                    case .success(let certificate):
                        if kind == "ca_cert" { cas.append(certificate) } else { chain.append(certificate) }
                    case .failure(let problem):
                        return .failure(Failure(.malformed, "certificates[\(index)].\(kind)[\(position)]: \(problem.detail)"))
                    }
                }
            }
            contexts.append(EnvoyTLSContext(caCertificates: cas, chain: chain))
        }
        return .success(EnvoyCertificates(contexts: contexts, observedAt: now))
    }

    private static func certificate(_ details: Details) -> Result<EnvoyCertificate, Failure> {
        guard let from = details.valid_from, let notBefore = RFC3339.date(from: from) else {
            return .failure(Failure(.malformed, "valid_from is missing or no RFC 3339 time"))
        }
        guard let to = details.expiration_time, let notAfter = RFC3339.date(from: to) else {
            return .failure(Failure(.malformed, "expiration_time is missing or no RFC 3339 time"))
        }
        // Hex only, bounded: a serial is 20 bytes at most (RFC 5280), and it is compared, never shown.
        var serial = details.serial_number ?? ""
        if serial.count > 64 || !serial.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit }) { serial = "" }
        let ids = (details.subject_alt_names ?? []).compactMap { san in san.uri.flatMap { try? SPIFFEID(parsing: $0) } }
        return .success(EnvoyCertificate(serialNumber: serial, spiffeIDs: ids, notBefore: notBefore, notAfter: notAfter))
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// A decoding error in a few words, without the answer's content.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return "wrong type at \(path.isEmpty ? "the top level" : String(path.drop { $0 == "." }))"
        default: return "invalid JSON"
        }
    }
}
