import Crypto
import Foundation
import _CryptoExtras

/// Closed vocabulary of reasons a JWT-SVID fails a check (`spiffe_jwt_svid_problem{reason}`).
public enum JWTSVIDProblem: String, CaseIterable, Hashable, Sendable, Comparable {
    /// Not a compact JWS with base64url JSON header and claims.
    case parseError = "parse_error"
    /// `alg` is not one of RS/ES/PS 256/384/512 (`none` and HMAC are forbidden).
    case algNotAllowed = "alg_not_allowed"
    /// `typ` present but neither `JWT` nor `JOSE`.
    case typInvalid = "typ_invalid"
    /// A required claim (`sub`, `aud`, `exp`) is missing or mistyped.
    case missingClaim = "missing_claim"
    /// `sub` is not a valid SPIFFE ID with a path.
    case invalidSPIFFEID = "invalid_spiffe_id"
    /// The requested audience is not in `aud`.
    case audienceMismatch = "audience_mismatch"
    /// `exp` has passed.
    case expired
    /// No JWT bundle for the subject's trust domain.
    case bundleMissing = "bundle_missing"
    /// The bundle has no key with the token's `kid`, or the token has no `kid`.
    case unknownKid = "unknown_kid"
    /// The signature does not verify with the bundle key (or the key type does not fit `alg`).
    case signatureInvalid = "signature_invalid"
    /// The Workload API's `spiffe_id` field differs from `sub`.
    case spiffeIDMismatch = "spiffe_id_mismatch"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// A public key from a JWKS document, ready to verify signatures.
public enum JWTVerificationKey: Sendable {
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case p521(P521.Signing.PublicKey)
    case rsa(_RSA.Signing.PublicKey)
}

/// A JWT bundle: the JWKS of one trust domain (`FetchJWTBundles`, spiffe-helper's JWT bundle file).
public struct JWTBundle: Sendable {
    public var keys: [String: JWTVerificationKey]
    /// Keys that were skipped: unknown `kty`/`crv`, missing `kid`, undecodable material.
    public var skippedKeys: Int
    /// Set when the document is not a JWKS at all.
    public var decodeError: String?

    public init(jwks: [UInt8]) {
        keys = [:]
        skippedKeys = 0
        decodeError = nil
        guard let object = try? JSONSerialization.jsonObject(with: Data(jwks)) as? [String: Any],
            let entries = object["keys"] as? [Any]
        else {
            decodeError = "not a JWKS document (no \"keys\" array)"
            return
        }
        for entry in entries {
            guard let jwk = entry as? [String: Any], let kid = jwk["kid"] as? String, !kid.isEmpty,
                let key = Self.key(from: jwk)
            else {
                skippedKeys += 1
                continue
            }
            // `use` = x509-svid entries (full SPIFFE bundle format) are X.509 authorities, not JWT keys.
            if let use = jwk["use"] as? String, use != "jwt-svid" {
                skippedKeys += 1
                continue
            }
            keys[kid] = key
        }
    }

    static func key(from jwk: [String: Any]) -> JWTVerificationKey? {
        switch jwk["kty"] as? String {
        case "EC":
            guard let x = (jwk["x"] as? String).flatMap(Base64URL.decode),
                let y = (jwk["y"] as? String).flatMap(Base64URL.decode)
            else { return nil }
            let raw = x + y
            switch jwk["crv"] as? String {
            case "P-256": return (try? P256.Signing.PublicKey(rawRepresentation: raw)).map { .p256($0) }
            case "P-384": return (try? P384.Signing.PublicKey(rawRepresentation: raw)).map { .p384($0) }
            case "P-521": return (try? P521.Signing.PublicKey(rawRepresentation: raw)).map { .p521($0) }
            default: return nil
            }
        case "RSA":
            guard let n = (jwk["n"] as? String).flatMap(Base64URL.decode),
                let e = (jwk["e"] as? String).flatMap(Base64URL.decode)
            else { return nil }
            return (try? _RSA.Signing.PublicKey(n: n, e: e)).map { .rsa($0) }
        default:
            return nil
        }
    }
}

public enum Base64URL {
    public static func decode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") || text.hasSuffix("=") else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// What the exporter keeps of a JWT-SVID: header and claims facts, never the token itself.
public struct JWTSVIDReport: Sendable {
    /// Label value: `sub` when present, else the Workload API's `spiffe_id` field.
    public var spiffeID: String
    /// The audience set it was requested for, as the `audience` label (sorted, comma-joined).
    public var audience: String
    public var issuedAt: Date?
    public var expiresAt: Date?
    public var algorithm: String?
    public var keyID: String?
    /// SHA-256 of the token (hex, truncated): tells generations apart without keeping the token.
    public var fingerprint: String
    public var staticProblems: Set<JWTSVIDProblem>

    public func problems(at now: Date) -> [JWTSVIDProblem] {
        var problems = staticProblems
        if let expiresAt, now >= expiresAt { problems.insert(.expired) }
        return problems.sorted()
    }

    public func isValid(at now: Date) -> Bool { problems(at: now).isEmpty }
}

public enum JWTSVIDAnalyzer {
    public static let allowedAlgorithms: Set<String> = [
        "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
    ]

    public static func audienceLabel(_ audiences: [String]) -> String {
        Set(audiences).sorted().joined(separator: ",")
    }

    /// Runs every JWT-SVID rule (JWT-SVID.md §2–§3): header, claims, audience, expiry and the
    /// signature against the JWT bundle of the subject's trust domain.
    public static func analyze(
        token: String, reportedSPIFFEID: String?, audiences: [String], bundles: [String: JWTBundle]
    ) -> JWTSVIDReport {
        var report = JWTSVIDReport(
            spiffeID: reportedSPIFFEID ?? "", audience: audienceLabel(audiences), issuedAt: nil, expiresAt: nil,
            algorithm: nil, keyID: nil,
            fingerprint: CertificateFacts.hex(Array(SHA256.hash(data: Data(token.utf8))).prefix(8)),
            staticProblems: [])
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerBytes = Base64URL.decode(String(parts[0])),
            let claimBytes = Base64URL.decode(String(parts[1])),
            let signature = Base64URL.decode(String(parts[2])),
            let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
            let claims = try? JSONSerialization.jsonObject(with: Data(claimBytes)) as? [String: Any]
        else {
            report.staticProblems.insert(.parseError)
            return report
        }
        var problems: Set<JWTSVIDProblem> = []
        let alg = header["alg"] as? String
        report.algorithm = alg
        if alg == nil || !allowedAlgorithms.contains(alg!) { problems.insert(.algNotAllowed) }
        if let typ = header["typ"] {
            if let typ = typ as? String, typ == "JWT" || typ == "JOSE" {} else { problems.insert(.typInvalid) }
        }
        let kid = header["kid"] as? String
        report.keyID = kid

        var trustDomain: String?
        if let sub = claims["sub"] as? String {
            report.spiffeID = sub
            if let id = try? SPIFFEID(parsing: sub), !id.isTrustDomainID {
                trustDomain = id.trustDomain
            } else {
                problems.insert(.invalidSPIFFEID)
            }
            if let reported = reportedSPIFFEID, !reported.isEmpty, reported != sub { problems.insert(.spiffeIDMismatch) }
        } else {
            problems.insert(.missingClaim)
        }
        let aud: [String]?
        if let single = claims["aud"] as? String {
            aud = [single]
        } else if let list = claims["aud"] as? [Any] {
            aud = list.compactMap { $0 as? String }
        } else {
            aud = nil
        }
        if let aud {
            if !audiences.allSatisfy(aud.contains) { problems.insert(.audienceMismatch) }
        } else {
            problems.insert(.missingClaim)
        }
        if let exp = (claims["exp"] as? NSNumber)?.doubleValue {
            report.expiresAt = Date(timeIntervalSince1970: exp)
        } else {
            problems.insert(.missingClaim)
        }
        if let iat = (claims["iat"] as? NSNumber)?.doubleValue { report.issuedAt = Date(timeIntervalSince1970: iat) }

        if let trustDomain, let alg, allowedAlgorithms.contains(alg) {
            if let bundle = bundles[trustDomain], !bundle.keys.isEmpty {
                // A token without `kid` is legal (kid is optional in a JWT header) but matches no key of a
                // SPIFFE JWT bundle, whose keys all carry one: unverifiable, not malformed.
                if let kid, let key = bundle.keys[kid] {
                    let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
                    if !verify(alg: alg, key: key, signature: signature, input: signingInput) {
                        problems.insert(.signatureInvalid)
                    }
                } else {
                    problems.insert(.unknownKid)
                }
            } else {
                problems.insert(.bundleMissing)
            }
        }
        report.staticProblems = problems
        return report
    }

    static func verify(alg: String, key: JWTVerificationKey, signature: [UInt8], input: Data) -> Bool {
        switch (alg, key) {
        case ("ES256", .p256(let k)):
            guard let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return k.isValidSignature(sig, for: SHA256.hash(data: input))
        case ("ES384", .p384(let k)):
            guard let sig = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return k.isValidSignature(sig, for: SHA384.hash(data: input))
        case ("ES512", .p521(let k)):
            guard let sig = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return k.isValidSignature(sig, for: SHA512.hash(data: input))
        case (let a, .rsa(let k)) where a.hasPrefix("RS") || a.hasPrefix("PS"):
            let sig = _RSA.Signing.RSASignature(rawRepresentation: signature)
            let padding: _RSA.Signing.Padding = a.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
            switch a.dropFirst(2) {
            case "256": return k.isValidSignature(sig, for: SHA256.hash(data: input), padding: padding)
            case "384": return k.isValidSignature(sig, for: SHA384.hash(data: input), padding: padding)
            case "512": return k.isValidSignature(sig, for: SHA512.hash(data: input), padding: padding)
            default: return false
            }
        default:
            return false
        }
    }
}
