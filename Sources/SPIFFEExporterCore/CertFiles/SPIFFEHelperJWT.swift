import Foundation

/// JWT-SVID and JWT bundle files as spiffe-helper writes them: a token file holds the compact JWT
/// alone; the bundle file is `{"<trust domain>": "<base64 of a JWKS>", ...}`.
public enum SPIFFEHelperJWT {
    /// Decodes the JWT bundle file; undecodable entries are skipped (the evaluator already reports
    /// a malformed file as `parse_error`).
    public static func bundles(_ bytes: [UInt8]) -> [String: JWTBundle] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return [:] }
        var bundles: [String: JWTBundle] = [:]
        for (key, value) in object {
            guard let domain = try? SPIFFEID.trustDomain(parsing: key), let text = value as? String,
                let jwks = Data(base64Encoded: text)
            else { continue }
            bundles[domain] = JWTBundle(jwks: Array(jwks))
        }
        return bundles
    }

    /// Analyses a token file. The audience set is the token's own `aud` (spiffe-helper's
    /// `jwt_audience` plus `jwt_extra_audiences`), so the audience check is about the token's shape;
    /// expiry, subject, algorithm and signature are checked for real.
    public static func report(token bytes: [UInt8], bundles: [String: JWTBundle]) -> JWTSVIDReport {
        let token = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return JWTSVIDAnalyzer.analyze(
            token: token, reportedSPIFFEID: nil, audiences: audiences(of: token), bundles: bundles)
    }

    static func audiences(of token: String) -> [String] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let claims = Base64URL.decode(String(parts[1])),
            let object = try? JSONSerialization.jsonObject(with: Data(claims)) as? [String: Any]
        else { return [] }
        if let single = object["aud"] as? String { return [single] }
        return (object["aud"] as? [Any])?.compactMap { $0 as? String } ?? []
    }
}
