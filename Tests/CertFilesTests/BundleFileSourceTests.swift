import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// `--collector.bundle-file`: one trust domain's CA certificates in one file, read defensively
/// like the other certificate files; every bad file is counted by reason and never breaks /metrics.
@Suite(.timeLimit(.minutes(1))) struct BundleFileSourceTests {
    static let labels = ["source": "bootstrap", "trust_domain": "example.org"]

    func source(_ path: String, maxFileSize: Int = CertFilesSourceConfiguration.defaultMaxFileSize) -> CertFilesSourceConfiguration {
        CertFilesSourceConfiguration(
            name: "bootstrap", kind: .bundleFile(path: path, trustDomain: "example.org"), refreshInterval: .seconds(3600),
            maxFileSize: maxFileSize, settleDelay: .milliseconds(50))
    }

    @Test func pemAndDERBundlesAreExportedAndGarbageIsCounted() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/bundle.crt"
            let (a, b) = (try TestCA(), try TestCA())
            try Files.writeAtomically(path, a.bundlePEM + b.bundlePEM)
            let harness = Harness([source(path)])
            try await harness.run {
                try await eventually("both roots exported") {
                    await harness.scrape().value("spiffe_trust_bundle_certificates", Self.labels) == 2
                }
                #expect(harness.loads("bootstrap", "success") >= 1)

                try Files.writeAtomically(path, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
                try await eventually("garbage counted as parse_error, the bundle withdrawn") {
                    let scrape = await harness.scrape()
                    return harness.errors("bootstrap", .parseError) >= 1
                        && scrape.value("spiffe_trust_bundle_certificates", Self.labels) == nil
                }
                try await harness.expectValidExposition()

                try Files.writeInPlace(path, a.root.der)
                try await eventually("one DER certificate read") {
                    await harness.scrape().value("spiffe_trust_bundle_certificates", Self.labels) == 1
                }
                Files.remove(path)
                try await eventually("a deleted file counted as not_found") {
                    let exported = await harness.scrape().value("spiffe_trust_bundle_certificates", Self.labels)
                    return harness.errors("bootstrap", .notFound) >= 1 && exported == nil
                }
            }
        }
    }

    @Test func oversizedAndNonRegularFilesAreRefused() async throws {
        try await withTemporaryDirectory { dir in
            let big = dir + "/big.crt"
            try Files.writeAtomically(big, try TestCA().bundlePEM)
            try Files.makeDirectory(dir + "/a-directory")
            let harness = Harness([
                source(big, maxFileSize: 64),
                CertFilesSourceConfiguration(name: "dir", kind: .bundleFile(path: dir + "/a-directory", trustDomain: "example.org")),
            ])
            try await harness.run {
                try await eventually("both failures counted") {
                    harness.errors("bootstrap", .fileTooLarge) >= 1 && harness.errors("dir", .notRegularFile) >= 1
                }
                #expect(await harness.scrape().samples("spiffe_trust_bundle_certificates").isEmpty)
            }
        }
    }
}
