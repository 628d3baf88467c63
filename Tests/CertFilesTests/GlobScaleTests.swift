import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import TestKit
import Testing

/// The scale case on its own: its 10,000 writes and parses would slow the latency checks of the
/// other suites, so `scripts/test.sh` runs it in the first pass, apart from them.
@Suite("Certificate files: a glob of 10,000 files", .timeLimit(.minutes(2)), .pollingEvery(.milliseconds(5)))
struct GlobScaleTests {
    static let source = "certs"

    @Test("10,000 matched files load, and a change among them reaches /metrics within 1 s")
    func tenThousandFiles() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            // A few distinct certificates, many files: parsing cost is per file either way.
            let certificates = try (0..<16).map { try ca.svid("/w\($0)", lifetime: 1000 + Double($0)).chainPEM }
            let count = 10_000
            for index in 0..<count {
                let bucket = directory + "/d\(index % 10)"
                if index < 10 { try Files.makeDirectory(bucket) }
                try Files.writeInPlace(bucket + "/c\(index).pem", certificates[index % certificates.count])
            }
            let harness = Harness([globSource([directory + "/*/*.pem"])])
            let started = ContinuousClock.now
            try await harness.run {
                try await eventually(timeout: .seconds(60), "all files exported") {
                    harness.collector.contributor.certificates(source: Self.source).count == count
                }
                let initial = (ContinuousClock.now - started).seconds
                let scrape = await harness.scrape()
                #expect(scrape.samples("spiffe_certificate_expiry_timestamp_seconds").count == count)
                #expect(scrape.samples("spiffe_certificate_expires_in_seconds").count == count)
                try await harness.expectValidExposition()

                var latencies: [Double] = []
                for round in 1...3 {
                    let path = directory + "/d\(round)/c\(round * 7).pem"
                    let lifetime = 9000 + Double(round)
                    let changed = ContinuousClock.now
                    try Files.writeInPlace(path, try ca.svid("/changed", lifetime: lifetime).chainPEM)
                    try await eventually(timeout: .seconds(10), "change \(round) exported") {
                        harness.collector.contributor.certificates(source: Self.source)[path]?.notAfter == at(lifetime)
                    }
                    latencies.append((ContinuousClock.now - changed).seconds)
                }
                print(
                    "cert-files glob of \(count) files: initial load \(String(format: "%.2f", initial)) s, "
                        + "change → exported \(latencies.map { String(format: "%.3f", $0) }) s")
                #expect(harness.loads(Self.source, "error") == 0)
            }
        }
    }
}
