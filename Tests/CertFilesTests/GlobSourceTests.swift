import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// Certificates matched by globs: `spiffe_certificate_*{source,path}` for every matched file.
@Suite("Certificate files: globs", .timeLimit(.minutes(2)), .pollingEvery(.milliseconds(5)))
struct GlobSourceTests {
    static let source = "certs"

    func expiry(_ scrape: Scrape, _ path: String) -> Double? {
        scrape.value("spiffe_certificate_expiry_timestamp_seconds", ["source": Self.source, "path": path])
    }

    @Test("Every matched certificate is exported by path; files come and go")
    func matchedCertificates() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let server = try ca.svid("/server", lifetime: 1000)
            try Files.writeInPlace(directory + "/server.pem", server.chainPEM)
            // DER, a chain file (reported by its leaf), a key (no certificate), a hidden file, a subdirectory.
            try Files.writeInPlace(directory + "/root.crt", SVIDFactory.der(ca.root.certificate))
            try Files.writeInPlace(
                directory + "/chain.pem", try ca.svid("/chain", lifetime: 2000).chainPEM + ca.bundlePEM)
            try Files.writeInPlace(directory + "/server-key.pem", server.keyPEM)
            try Files.writeInPlace(directory + "/.hidden.pem", server.chainPEM)
            try Files.makeDirectory(directory + "/nested/deeper")
            try Files.writeInPlace(
                directory + "/nested/deeper/inner.pem", try ca.svid("/inner", lifetime: 3000).chainPEM)
            let harness = Harness([
                globSource([directory + "/*.pem", directory + "/*.crt", directory + "/**/inner.pem"])
            ])
            try await harness.run {
                // The key file is reported once its settle delay has passed.
                let scrape = try await eventually("all certificates exported, the key file reported") {
                    () async -> Scrape? in
                    let scrape = await harness.scrape()
                    let exported = scrape.samples("spiffe_certificate_expiry_timestamp_seconds").count
                    return exported == 4 && harness.errors(Self.source, .parseError) >= 1 ? scrape : nil
                }
                #expect(expiry(scrape, directory + "/server.pem") == at(1000).timeIntervalSince1970)
                #expect(expiry(scrape, directory + "/chain.pem") == at(2000).timeIntervalSince1970)
                #expect(expiry(scrape, directory + "/nested/deeper/inner.pem") == at(3000).timeIntervalSince1970)
                #expect(expiry(scrape, directory + "/root.crt") == at(48 * 3600).timeIntervalSince1970)
                #expect(expiry(scrape, directory + "/.hidden.pem") == nil)
                #expect(
                    scrape.value(
                        "spiffe_certificate_expires_in_seconds",
                        ["source": Self.source, "path": directory + "/server.pem"]) == 1000)
                // The key file matches `*.pem` but holds no certificate.
                #expect(harness.statistics(Self.source).lastProblems == [directory + "/server-key.pem": .parseError])
                // Glob certificates are not SVIDs of the store.
                #expect(scrape.samples("spiffe_x509_svid_valid").isEmpty)
                try await harness.expectValidExposition()

                // A new file appears, another disappears, one is rotated in place.
                try Files.writeInPlace(directory + "/new.pem", try ca.svid("/new", lifetime: 4000).chainPEM)
                Files.remove(directory + "/chain.pem")
                try Files.writeInPlace(directory + "/server.pem", try ca.svid("/server", lifetime: 5000).chainPEM)
                try await eventually("changes reflected") {
                    let scrape = await harness.scrape()
                    return expiry(scrape, directory + "/new.pem") == at(4000).timeIntervalSince1970
                        && expiry(scrape, directory + "/chain.pem") == nil
                        && expiry(scrape, directory + "/server.pem") == at(5000).timeIntervalSince1970
                }
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("A half-written certificate keeps its last value until it settles")
    func halfWrittenGlobFile() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let path = directory + "/tls.pem"
            try Files.writeInPlace(path, try ca.svid(lifetime: 1000).chainPEM)
            let harness = Harness([globSource([directory + "/*.pem"], settleDelay: 30)])
            try await harness.run {
                try await eventually("first load") {
                    expiry(await harness.scrape(), path) == at(1000).timeIntervalSince1970
                }
                let next = Array(try ca.svid(lifetime: 2000).chainPEM.utf8)
                try Files.writeInPlace(path, Array(next.prefix(next.count / 2)))
                try await eventually("held back") { harness.statistics(Self.source).holds >= 1 }
                #expect(expiry(await harness.scrape(), path) == at(1000).timeIntervalSince1970)
                #expect(harness.errors(Self.source, .parseError) == 0)
                try await harness.expectValidExposition()
                try Files.writeInPlace(path, next)
                try await eventually("completed") {
                    expiry(await harness.scrape(), path) == at(2000).timeIntervalSince1970
                }
                #expect(harness.errors(Self.source, .parseError) == 0)
            }
        }
    }

    @Test("Garbage, oversized files and symlink loops in a glob are reported; the walk ends")
    func problemFiles() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            try Files.writeInPlace(directory + "/good.pem", try ca.svid(lifetime: 1000).chainPEM)
            try Files.writeInPlace(directory + "/garbage.pem", Array(repeating: 0x41, count: 300))
            try Files.makeSparse(directory + "/huge.pem", size: 100 * 1024 * 1024)
            try Files.symlink("loop.pem", at: directory + "/loop.pem")
            // A directory loop under `**`.
            try Files.makeDirectory(directory + "/sub")
            try Files.symlink("..", at: directory + "/sub/up")
            let harness = Harness([globSource([directory + "/**/*.pem"], settleDelay: 0.05)])
            try await harness.run {
                try await eventually("every problem reported") {
                    harness.errors(Self.source, .parseError) >= 1 && harness.errors(Self.source, .fileTooLarge) >= 1
                        && harness.errors(Self.source, .symlinkLoop) >= 1
                }
                let scrape = await harness.scrape()
                #expect(expiry(scrape, directory + "/good.pem") == at(1000).timeIntervalSince1970)
                #expect(scrape.samples("spiffe_certificate_expiry_timestamp_seconds").count == 1)
                #expect(harness.loads(Self.source, "error") >= 1)
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("Readiness waits for every source's first load: once ready, every certificate is in the first scrape")
    func readinessWaitsForFirstLoad() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let certificates = try (0..<4).map { try ca.svid("/w\($0)", lifetime: 1000 + Double($0)).chainPEM }
            let count = 500
            try Files.makeDirectory(directory + "/tls")
            for index in 0..<count {
                try Files.writeInPlace(directory + "/tls/c\(index).pem", certificates[index % certificates.count])
            }
            try Files.makeDirectory(directory + "/helper")
            try writeHelperFiles(directory + "/helper", try ca.svid("/helper", lifetime: 2000), ca: ca)
            let harness = Harness([
                globSource([directory + "/tls/*.pem"]), directorySource(path: directory + "/helper"),
            ])
            #expect(Set(harness.metrics.unsyncedSources()) == [Self.source, "helper"])
            try await harness.run {
                try await eventually("every source has loaded once") { harness.metrics.unsyncedSources().isEmpty }
                // Nothing arrives after readiness: the first scrape already holds every file.
                let scrape = await harness.scrape()
                #expect(scrape.samples("spiffe_certificate_expiry_timestamp_seconds").count == count)
                #expect(scrape.value("spiffe_x509_svid_valid", ["source": "helper"]) == 1)
            }
        }
    }

    @Test("A glob root that does not exist yet is awaited")
    func rootAppearsLater() async throws {
        try await withTemporaryDirectory { base in
            let harness = Harness([globSource([base + "/tls/*.crt"])])
            try await harness.run {
                try await eventually("first evaluation") { harness.statistics(Self.source).loads >= 1 }
                #expect(harness.loads(Self.source, "success") == 1, "no match is not an error")
                #expect(harness.statistics(Self.source).watchedDirectories == [base])
                let ca = try TestCA()
                try Files.makeDirectory(base + "/tls")
                try Files.writeInPlace(base + "/tls/server.crt", try ca.svid(lifetime: 1000).chainPEM)
                try await eventually("the certificate is exported") {
                    expiry(await harness.scrape(), base + "/tls/server.crt") == at(1000).timeIntervalSince1970
                }
            }
        }
    }
}
