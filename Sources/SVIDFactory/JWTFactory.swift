import Crypto
import Foundation
import _CryptoExtras

/// A JWT signing authority as SPIRE has one per trust domain: a key and its `kid`.
public struct JWTAuthority: Sendable {
    public enum Key: Sendable {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey)
    }

    public var kid: String
    public var key: Key

    public init(kid: String = UUID().uuidString.lowercased(), key: Key = .p256(P256.Signing.PrivateKey())) {
        self.kid = kid
        self.key = key
    }

    public var defaultAlgorithm: String {
        switch key {
        case .p256: "ES256"
        case .p384: "ES384"
        case .rsa: "RS256"
        }
    }

    /// The public key as a JWK, the way SPIRE publishes it (no `use` on the Workload API).
    public var jwk: [String: String] {
        switch key {
        case .p256(let k):
            let raw = Array(k.publicKey.rawRepresentation)
            return ["kty": "EC", "kid": kid, "crv": "P-256", "x": JWTFactory.b64(raw[0..<32]), "y": JWTFactory.b64(raw[32...])]
        case .p384(let k):
            let raw = Array(k.publicKey.rawRepresentation)
            return ["kty": "EC", "kid": kid, "crv": "P-384", "x": JWTFactory.b64(raw[0..<48]), "y": JWTFactory.b64(raw[48...])]
        case .rsa(let k):
            let components = try? k.publicKey.getKeyPrimitives()
            return ["kty": "RSA", "kid": kid, "n": JWTFactory.b64(components?.modulus ?? Data()), "e": JWTFactory.b64(components?.publicExponent ?? Data())]
        }
    }
}

/// Mints compact JWS tokens for the simulator and the tests.
public enum JWTFactory {
    /// A JWKS document holding the given authorities' public keys.
    public static func jwks(_ authorities: [JWTAuthority]) -> [UInt8] {
        let object: [String: Any] = ["keys": authorities.map(\.jwk)]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// A JWT-SVID as SPIRE issues it: `alg`, `kid`, `typ: JWT`; `sub`, `aud`, `exp`, `iat`.
    public static func svid(
        spiffeID: String, audience: [String], issuedAt: Date, expiresAt: Date, authority: JWTAuthority
    ) -> String {
        sign(
            header: ["alg": authority.defaultAlgorithm, "kid": authority.kid, "typ": "JWT"],
            claims: [
                "sub": spiffeID, "aud": audience.count == 1 ? audience[0] as Any : audience as Any,
                "exp": Int(expiresAt.timeIntervalSince1970), "iat": Int(issuedAt.timeIntervalSince1970),
            ],
            authority: authority)
    }

    /// Signs arbitrary header and claims with the authority's key using the header's `alg`
    /// (ES256/ES384/RS256/PS256); any other `alg` (e.g. `none`) gets an empty signature.
    public static func sign(header: [String: Any], claims: [String: Any], authority: JWTAuthority) -> String {
        let h = b64((try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data())
        let c = b64((try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data())
        let input = Data("\(h).\(c)".utf8)
        var signature = Data()
        switch (header["alg"] as? String, authority.key) {
        case ("ES256", .p256(let k)): signature = (try? k.signature(for: input).rawRepresentation) ?? Data()
        case ("ES384", .p384(let k)): signature = (try? k.signature(for: input).rawRepresentation) ?? Data()
        case ("RS256", .rsa(let k)):
            signature = (try? k.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation) ?? Data()
        case ("PS256", .rsa(let k)):
            signature = (try? k.signature(for: SHA256.hash(data: input), padding: .PSS).rawRepresentation) ?? Data()
        default: break
        }
        return "\(h).\(c).\(b64(signature))"
    }

    static func b64(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
