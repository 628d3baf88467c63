import Foundation
import X509

/// Closed vocabulary of reasons a federation bundle endpoint fetch fails
/// (`spiffe_federation_bundle_failures_total{reason}`); every reason is created at zero for every
/// endpoint.
public enum FederationBundleFailureReason: String, CaseIterable, Sendable, Hashable, Comparable, Error {
    /// TCP connection to the endpoint could not be established (refused, unreachable, DNS).
    case connect
    /// The TLS handshake failed for a reason other than trust (protocol, alert from the server).
    case tls
    /// The server certificate does not chain to the trust the profile requires (Web PKI roots or
    /// `ca_file` for `https_web`; the held bundle of the endpoint ID's trust domain for `https_spiffe`).
    case untrusted
    /// `https_spiffe`: the server's SVID does not carry the configured `endpoint_spiffe_id`.
    case endpointSPIFFEIDMismatch = "endpoint_spiffe_id_mismatch"
    /// The response status is not 200; redirects are not followed and count here.
    case httpStatus = "http_status"
    /// The body exceeds the size bound; the rest is not read.
    case bodyTooLarge = "body_too_large"
    /// The body is not a SPIFFE bundle: not JSON, no `keys` array, wrong member types, or an
    /// `x509-svid` key whose `x5c` does not decode to a CA certificate.
    case malformed
    /// A root CA names a SPIFFE trust domain other than the configured one.
    case wrongTrustDomain = "wrong_trust_domain"
    /// The fetch did not complete within its deadline.
    case timeout

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A SPIFFE bundle as served by a federation bundle endpoint (SPIFFE Trust Domain and Bundle
/// spec §4): a JWK Set with `spiffe_sequence` and `spiffe_refresh_hint`.
public struct FederationBundleDocument: Sendable {
    public var trustDomain: String
    /// The `x509-svid` authorities, decoded.
    public var roots: TrustBundle
    /// Key IDs of the `jwt-svid` keys, sorted.
    public var jwtKeyIDs: [String]
    public var sequence: UInt64?
    /// `spiffe_refresh_hint` in seconds, as served (unbounded).
    public var refreshHint: TimeInterval?

    /// Refresh interval bounds: a hint of 0 or one second must not turn the exporter into a load
    /// generator, and a day-long hint must not hide a rotation for a day.
    public static let minimumRefresh: TimeInterval = 30
    public static let maximumRefresh: TimeInterval = 3600
    /// SPIRE's bundle endpoint default, used when the document has no hint.
    public static let defaultRefresh: TimeInterval = 300

    /// The interval to the next fetch: the override when configured, else the hint, else SPIRE's
    /// default; always within 30 s..1 h.
    public func refreshInterval(override: TimeInterval? = nil) -> TimeInterval {
        Self.boundedRefresh(override ?? refreshHint ?? Self.defaultRefresh)
    }

    public static func boundedRefresh(_ seconds: TimeInterval) -> TimeInterval {
        guard seconds.isFinite else { return defaultRefresh }
        return min(max(seconds, minimumRefresh), maximumRefresh)
    }

    /// Earliest `notAfter` among the roots valid at `now`; `nil` when none is.
    public func earliestExpiry(at now: Date) -> Date? {
        roots.summary(at: now).earliestValidExpiry
    }

    /// Parses and validates `body` as the bundle of `trustDomain`.
    ///
    /// Rules (the spec's MUST-ignore cases are ignored, anything that could silently drop a root
    /// is an error so the previously held bundle stays in place):
    /// - the top level must be an object with a `keys` array (an empty array is valid: every key
    ///   revoked); `spiffe_sequence` and `spiffe_refresh_hint`, when present, non-negative integers;
    /// - keys without `kty`/`use` or with an unknown `use` are ignored; an `x509-svid` key without
    ///   `x5c` or with an empty one is ignored (spec), but an `x5c` whose first value is not
    ///   standard base64 of a DER certificate is `malformed`; a `jwt-svid` key needs a `kid`;
    /// - the document does not name its trust domain, so the only evidence is in the roots: a root
    ///   whose SPIFFE URI SAN (SPIRE's CAs carry `spiffe://<td>`) names another trust domain makes
    ///   the document `wrong_trust_domain`. Roots without a SPIFFE URI SAN are accepted, as the
    ///   spec does not require one.
    public static func parse(_ body: [UInt8], trustDomain: String) -> Result<FederationBundleDocument, FederationBundleFailure> {
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) else {
            return .failure(.init(.malformed, "the document is not a JSON object"))
        }
        guard case .array(let keys)? = object["keys"] else {
            return .failure(.init(.malformed, "the document has no keys array"))
        }
        var sequence: UInt64?
        if let value = object["spiffe_sequence"] {
            guard case .unsigned(let number) = value else {
                return .failure(.init(.malformed, "spiffe_sequence is not a non-negative integer"))
            }
            sequence = number
        }
        var hint: TimeInterval?
        if let value = object["spiffe_refresh_hint"] {
            guard case .unsigned(let number) = value else {
                return .failure(.init(.malformed, "spiffe_refresh_hint is not a non-negative integer"))
            }
            hint = TimeInterval(number)
        }
        var certificates: [Certificate] = []
        var keyIDs: Set<String> = []
        for (index, entry) in keys.enumerated() {
            guard case .object(let key) = entry else {
                return .failure(.init(.malformed, "key \(index + 1) is not an object"))
            }
            guard case .string? = key["kty"], case .string(let use)? = key["use"] else { continue }
            switch use {
            case "x509-svid":
                guard case .array(let x5c)? = key["x5c"], let first = x5c.first else { continue }
                guard case .string(let text) = first, let der = Data(base64Encoded: text) else {
                    return .failure(.init(.malformed, "key \(index + 1): x5c is not base64"))
                }
                guard let certificate = try? Certificate(derEncoded: Array(der)) else {
                    return .failure(.init(.malformed, "key \(index + 1): x5c is not a DER certificate"))
                }
                certificates.append(certificate)
            case "jwt-svid":
                guard case .string(let kid)? = key["kid"], !kid.isEmpty else {
                    return .failure(.init(.malformed, "key \(index + 1): jwt-svid key without kid"))
                }
                keyIDs.insert(kid)
            default:
                continue
            }
        }
        let roots = TrustBundle(trustDomain: trustDomain, certificates: certificates)
        let claimed = roots.claimedTrustDomains.subtracting([trustDomain])
        if !claimed.isEmpty {
            return .failure(.init(.wrongTrustDomain, "roots name trust domain \(claimed.sorted().joined(separator: ", ")), expected \(trustDomain)"))
        }
        return .success(FederationBundleDocument(
            trustDomain: trustDomain, roots: roots, jwtKeyIDs: keyIDs.sorted(), sequence: sequence, refreshHint: hint))
    }
}

/// Just enough JSON to walk a JWK Set without trusting its shape.
private enum JSONValue: Decodable {
    case null, bool(Bool), unsigned(UInt64), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(UInt64.self) { self = .unsigned(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

/// A failed fetch or parse: the reason counted and a text for logs and /status.
public struct FederationBundleFailure: Error, Sendable, Equatable {
    public var reason: FederationBundleFailureReason
    public var detail: String

    public init(_ reason: FederationBundleFailureReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

extension FederationBundleFailureReason {
    /// What to look at, for `/status` and logs.
    public var hint: String {
        switch self {
        case .connect: "check the URL's host and port and that the bundle endpoint is listening and reachable"
        case .tls: "the TLS handshake failed: check that the URL speaks HTTPS (TLS 1.2 or later)"
        case .untrusted:
            "https_web: the server certificate must chain to the system roots or ca_file and match the host; https_spiffe: its SVID must chain to the bundle the exporter holds for the endpoint ID's trust domain"
        case .endpointSPIFFEIDMismatch: "the endpoint's SVID carries another SPIFFE ID than endpoint_spiffe_id"
        case .httpStatus: "the endpoint answered with a status other than 200 (redirects are not followed): check the URL's path"
        case .bodyTooLarge: "the response is larger than a SPIFFE bundle can reasonably be: check the URL"
        case .malformed: "the response is not a SPIFFE bundle (JWK Set with x509-svid/jwt-svid keys)"
        case .wrongTrustDomain: "the endpoint serves another trust domain's bundle: check trust_domain and the URL"
        case .timeout: "the endpoint did not answer in time"
        }
    }
}
