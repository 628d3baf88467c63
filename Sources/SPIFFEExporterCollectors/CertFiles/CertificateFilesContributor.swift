import Foundation
import SPIFFEExporterCore
import Synchronization

/// Renders `spiffe_certificate_expiry_timestamp_seconds` and `spiffe_certificate_expires_in_seconds`
/// for every file matched by a glob, fresh at each scrape: a file that stops matching, or stops
/// parsing, simply stops being emitted.
public final class CertificateFilesContributor: ScrapeContributor {
    private let files = Mutex<[String: [String: CertificateFileSummary]]>([:])

    public init() {}

    func replace(source: String, files newFiles: [String: CertificateFileSummary]) {
        files.withLock { $0[source] = newFiles }
    }

    /// The certificates currently exported for `source`, by path.
    public func certificates(source: String) -> [String: CertificateFileSummary] {
        files.withLock { $0[source] ?? [:] }
    }

    public func collect(now: Date, into builder: inout ScrapeBuilder) async {
        let snapshot = files.withLock { $0 }
        let nowSeconds = now.timeIntervalSince1970
        var expiry: [Sample] = []
        var expiresIn: [Sample] = []
        let total = snapshot.values.reduce(0) { $0 + $1.count }
        expiry.reserveCapacity(total)
        expiresIn.reserveCapacity(total)
        for (source, certificates) in snapshot {
            for (path, summary) in certificates {
                let notAfter = summary.notAfter.timeIntervalSince1970
                expiry.append(Sample([source, path], notAfter))
                expiresIn.append(Sample([source, path], notAfter - nowSeconds))
            }
        }
        builder.add(MetricCatalog.certificateExpiry, expiry)
        builder.add(MetricCatalog.certificateExpiresIn, expiresIn)
    }
}
