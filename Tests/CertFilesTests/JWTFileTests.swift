import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// spiffe-helper's JWT-SVID and JWT bundle files go through the spiffe_jwt_svid_* families.
@Suite("Certificate files: JWT-SVID files", .timeLimit(.minutes(1)), .pollingEvery(.milliseconds(5)))
struct JWTFileTests {
    @Test func jwtFilesAreValidatedAgainstTheJWTBundleFile() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            try writeHelperFiles(directory, try ca.svid(), ca: ca)
            let authority = JWTAuthority(kid: "k1")
            let token = JWTFactory.svid(
                spiffeID: "spiffe://example.org/workload", audience: ["db", "extra"], issuedAt: at(-60), expiresAt: at(240),
                authority: authority)
            let jwks = Data(JWTFactory.jwks([authority])).base64EncodedString()
            try token.write(toFile: directory + "/jwt.token", atomically: true, encoding: .utf8)
            try "{\"example.org\": \"\(jwks)\"}".write(toFile: directory + "/jwt_bundle.json", atomically: true, encoding: .utf8)
            var files = SPIFFEHelperFileNames()
            files.jwtSVIDs = ["jwt.token"]
            files.jwtBundle = "jwt_bundle.json"
            let harness = Harness([directorySource(path: directory, files: files)])
            try await harness.run {
                let labels = ["source": "helper", "spiffe_id": "spiffe://example.org/workload", "audience": "db,extra"]
                try await eventually("the JWT-SVID is exported") {
                    await harness.scrape().value("spiffe_jwt_svid_valid", labels) == 1
                }
                let scrape = await harness.scrape()
                #expect(scrape.value("spiffe_jwt_svid_expiry_timestamp_seconds", labels) == at(240).timeIntervalSince1970)
                #expect(scrape.value("spiffe_jwt_bundle_keys", ["source": "helper", "trust_domain": "example.org"]) == 1)
                #expect(!scrape.text.contains(token.split(separator: ".")[2]))

                // A token signed by a key the bundle does not hold is reported, not dropped.
                let stranger = JWTFactory.svid(
                    spiffeID: "spiffe://example.org/workload", audience: ["db", "extra"], issuedAt: at(-60), expiresAt: at(300),
                    authority: JWTAuthority(kid: "k2"))
                try Files.writeAtomically(directory + "/jwt.token", stranger)
                try await eventually("unknown_kid") {
                    await harness.scrape().value("spiffe_jwt_svid_problem", labels.merging(["reason": "unknown_kid"]) { $1 }) == 1
                }
            }
        }
    }

    /// A JWT bundle file without JWT-SVID files is a copy of the JWT bundle of its own.
    @Test func aJWTBundleFileAloneIsExported() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            try writeHelperFiles(directory, try ca.svid(), ca: ca)
            let jwks = Data(JWTFactory.jwks([JWTAuthority(kid: "k1"), JWTAuthority(kid: "k2")])).base64EncodedString()
            try "{\"example.org\": \"\(jwks)\"}".write(toFile: directory + "/jwt_bundle.json", atomically: true, encoding: .utf8)
            var files = SPIFFEHelperFileNames()
            files.jwtBundle = "jwt_bundle.json"
            let harness = Harness([directorySource(path: directory, files: files)])
            try await harness.run {
                try await eventually("the JWT bundle keys are exported") {
                    await harness.scrape().value("spiffe_jwt_bundle_keys", ["source": "helper", "trust_domain": "example.org"]) == 2
                }
            }
        }
    }

    @Test func bundleFileParsing() {
        let authority = JWTAuthority(kid: "k")
        let jwks = Data(JWTFactory.jwks([authority])).base64EncodedString()
        let bundles = SPIFFEHelperJWT.bundles(Array("{\"example.org\": \"\(jwks)\", \"Bad Domain\": \"x\", \"other.org\": 5}".utf8))
        #expect(bundles.keys.sorted() == ["example.org"])
        #expect(bundles["example.org"]?.keys.count == 1)
        #expect(SPIFFEHelperJWT.bundles(Array("not json".utf8)).isEmpty)
    }
}
