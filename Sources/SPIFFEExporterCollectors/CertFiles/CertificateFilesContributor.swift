import Foundation
import SPIFFEExporterCore
import Synchronization

/// Renders `spiffe_certificate_expiry_timestamp_seconds` and `spiffe_certificate_expires_in_seconds`
/// for every file matched by a glob, fresh at each scrape: a file that stops matching, or stops
/// parsing, simply stops being emitted.
public final class CertificateFilesContributor: ScrapeContributor {
    private struct State: Sendable {
        var files: [String: [String: CertificateFileSummary]] = [:]
        /// Every file's labels escaped once and sorted by (source, path) when the set changes, so a
        /// scrape copies bytes instead of building and sorting a `Sample` per file.
        var table = LabelTable(names: State.labelNames)
        var notAfter: [Double] = []
        static let labelNames = ["source", "path"]
    }

    private let state = Mutex(State())

    public init() {}

    func replace(source: String, files newFiles: [String: CertificateFileSummary]) {
        state.withLock { state in
            state.files[source] = newFiles
            var table = LabelTable(names: State.labelNames)
            var notAfter: [Double] = []
            for source in state.files.keys.sorted() {
                guard let certificates = state.files[source] else { continue }
                for path in certificates.keys.sorted() {
                    guard let summary = certificates[path] else { continue }
                    table.append([source, path])
                    notAfter.append(summary.notAfter.timeIntervalSince1970)
                }
            }
            state.table = table
            state.notAfter = notAfter
        }
    }

    /// The certificates currently exported for `source`, by path.
    public func certificates(source: String) -> [String: CertificateFileSummary] {
        state.withLock { $0.files[source] ?? [:] }
    }

    public func collect(now: Date, into builder: inout ScrapeBuilder) async {
        let (table, notAfter) = state.withLock { ($0.table, $0.notAfter) }
        let nowSeconds = now.timeIntervalSince1970
        let expiry = SeriesLineFormat(MetricCatalog.certificateExpiry)
        builder.add(MetricCatalog.certificateExpiry, estimatedBytes: table.count * (expiry.fixedBytes + 20) + table.bytes.count) { out in
            table.forEachRow { row, labels in expiry.write(labels, notAfter[row], to: &out) }
        }
        let expiresIn = SeriesLineFormat(MetricCatalog.certificateExpiresIn)
        builder.add(MetricCatalog.certificateExpiresIn, estimatedBytes: table.count * (expiresIn.fixedBytes + 20) + table.bytes.count) { out in
            table.forEachRow { row, labels in expiresIn.write(labels, notAfter[row] - nowSeconds, to: &out) }
        }
    }
}
