import Crypto
import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import _CryptoExtras

@Suite struct JWTSVIDTests {
    let authority = JWTAuthority(kid: "kid-1")
    let id = "spiffe://example.org/ns/prod/sa/web"

    var bundles: [String: JWTBundle] { ["example.org": JWTBundle(jwks: JWTFactory.jwks([authority]))] }

    func token(aud: [String] = ["db"], exp: TimeInterval = 300, authority: JWTAuthority? = nil) -> String {
        JWTFactory.svid(spiffeID: id, audience: aud, issuedAt: at(0), expiresAt: at(exp), authority: authority ?? self.authority)
    }

    func problems(_ token: String, audiences: [String] = ["db"], now: TimeInterval = 10, bundles: [String: JWTBundle]? = nil) -> [JWTSVIDProblem] {
        JWTSVIDAnalyzer.analyze(token: token, reportedSPIFFEID: id, audiences: audiences, bundles: bundles ?? self.bundles)
            .problems(at: at(now))
    }

    @Test func validTokenAllAlgorithms() {
        for authority in [
            JWTAuthority(kid: "a"), JWTAuthority(kid: "b", key: .p384(P384.Signing.PrivateKey())),
        ] {
            let jwks = ["example.org": JWTBundle(jwks: JWTFactory.jwks([authority]))]
            #expect(problems(token(authority: authority), bundles: jwks) == [])
        }
        let report = JWTSVIDAnalyzer.analyze(token: token(), reportedSPIFFEID: id, audiences: ["db"], bundles: bundles)
        #expect(report.spiffeID == id)
        #expect(report.expiresAt == at(300))
        #expect(report.issuedAt == at(0))
        #expect(report.algorithm == "ES256")
        #expect(report.audience == "db")
        #expect(report.fingerprint.count == 16)
    }

    @Test func rsaAndPSS() throws {
        let rsa = JWTAuthority(kid: "r", key: .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)))
        let jwks = ["example.org": JWTBundle(jwks: JWTFactory.jwks([rsa]))]
        #expect(jwks["example.org"]?.keys.count == 1)
        #expect(problems(token(authority: rsa), bundles: jwks) == [])
        let pss = JWTFactory.sign(
            header: ["alg": "PS256", "kid": "r", "typ": "JWT"],
            claims: ["sub": id, "aud": ["db"], "exp": Int(at(300).timeIntervalSince1970)], authority: rsa)
        #expect(problems(pss, bundles: jwks) == [])
    }

    @Test func audienceAsStringOrArray() {
        #expect(problems(token(aud: ["db"])) == [])
        #expect(problems(token(aud: ["db", "cache"]), audiences: ["cache", "db"]) == [])
        #expect(problems(token(aud: ["db"]), audiences: ["other"]) == [.audienceMismatch])
    }

    @Test func expiry() {
        #expect(problems(token(exp: 300), now: 299) == [])
        #expect(problems(token(exp: 300), now: 300) == [.expired])
    }

    @Test func badSignatureUnknownKidMissingBundle() {
        let other = JWTAuthority(kid: "kid-1")  // same kid, different key
        #expect(problems(token(authority: other)) == [.signatureInvalid])
        let stranger = JWTAuthority(kid: "kid-2")
        #expect(problems(token(authority: stranger)) == [.unknownKid])
        #expect(problems(token(), bundles: [:]) == [.bundleMissing])
        #expect(problems(token(), bundles: ["other.org": bundles["example.org"]!]) == [.bundleMissing])
    }

    @Test func forbiddenAlgorithmsAndHeaders() {
        let none = JWTFactory.sign(
            header: ["alg": "none", "kid": "kid-1"], claims: ["sub": id, "aud": "db", "exp": Int(at(300).timeIntervalSince1970)],
            authority: authority)
        #expect(problems(none) == [.algNotAllowed])
        let hmac = JWTFactory.sign(
            header: ["alg": "HS256", "kid": "kid-1"], claims: ["sub": id, "aud": "db", "exp": Int(at(300).timeIntervalSince1970)],
            authority: authority)
        #expect(problems(hmac) == [.algNotAllowed])
        let badTyp = JWTFactory.sign(
            header: ["alg": "ES256", "kid": "kid-1", "typ": "JWS"],
            claims: ["sub": id, "aud": "db", "exp": Int(at(300).timeIntervalSince1970)], authority: authority)
        #expect(problems(badTyp) == [.typInvalid])
        let noKid = JWTFactory.sign(
            header: ["alg": "ES256"], claims: ["sub": id, "aud": "db", "exp": Int(at(300).timeIntervalSince1970)],
            authority: authority)
        // Legal per the JWT-SVID spec, yet no bundle key can be chosen: unverifiable, not malformed.
        #expect(problems(noKid) == [.unknownKid])
    }

    @Test func claims() {
        let noExp = JWTFactory.sign(header: ["alg": "ES256", "kid": "kid-1"], claims: ["sub": id, "aud": "db"], authority: authority)
        #expect(problems(noExp) == [.missingClaim])
        let badSub = JWTFactory.sign(
            header: ["alg": "ES256", "kid": "kid-1"],
            claims: ["sub": "spiffe://Example.org/x", "aud": "db", "exp": Int(at(300).timeIntervalSince1970)], authority: authority)
        #expect(problems(badSub).contains(.invalidSPIFFEID))
        let otherSub = JWTFactory.sign(
            header: ["alg": "ES256", "kid": "kid-1"],
            claims: ["sub": "spiffe://example.org/other", "aud": "db", "exp": Int(at(300).timeIntervalSince1970)],
            authority: authority)
        #expect(problems(otherSub) == [.spiffeIDMismatch])
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30", "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.AA"])
    func garbageTokens(_ text: String) {
        #expect(problems(text) == [.parseError])
    }

    @Test func jwksParsingSkipsUnknownKeys() {
        let doc = #"{"keys":[{"kty":"OKP","kid":"x","crv":"Ed25519","x":"AA"},{"kty":"EC","crv":"P-256"},{"kty":"EC","kid":"bad","crv":"P-256","x":"AA","y":"AA"}]}"#
        let bundle = JWTBundle(jwks: Array(doc.utf8))
        #expect(bundle.keys.isEmpty)
        #expect(bundle.skippedKeys == 3)
        #expect(bundle.decodeError == nil)
        #expect(JWTBundle(jwks: Array("[]".utf8)).decodeError != nil)
        #expect(JWTBundle(jwks: Array("garbage".utf8)).decodeError != nil)
        // A full SPIFFE bundle's x509-svid entries are not JWT keys.
        var jwk = authority.jwk
        jwk["use"] = "x509-svid"
        let spiffe = try? JSONSerialization.data(withJSONObject: ["keys": [jwk]])
        #expect(JWTBundle(jwks: Array(spiffe ?? Data())).keys.isEmpty)
        // ... while its jwt-svid entries are (with `use` and without: SPIRE omits it, the bundle spec names it; both accepted).
        jwk["use"] = "jwt-svid"
        let jwtUse = try? JSONSerialization.data(withJSONObject: ["keys": [jwk]])
        #expect(JWTBundle(jwks: Array(jwtUse ?? Data())).keys.count == 1)
    }

    @Test func fractionalExpIsAccepted() {
        // NumericDate may carry a fraction (RFC 7519 §2).
        let token = JWTFactory.sign(
            header: ["alg": "ES256", "kid": "kid-1"],
            claims: ["sub": id, "aud": ["db"], "exp": at(300).timeIntervalSince1970 + 0.5], authority: authority)
        #expect(problems(token).isEmpty)
        let report = JWTSVIDAnalyzer.analyze(token: token, reportedSPIFFEID: id, audiences: ["db"], bundles: bundles)
        let expected = at(300).timeIntervalSince1970 + 0.5
        #expect(abs((report.expiresAt?.timeIntervalSince1970 ?? 0) - expected) < 0.001)
    }
}
