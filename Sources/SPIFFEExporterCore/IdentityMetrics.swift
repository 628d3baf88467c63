import Foundation

/// What one source currently holds, as the store hands it to a scrape.
public struct SourceSnapshot: Sendable {
    public var source: String
    public var svids: [X509SVIDReport]
    /// Bundles by trust domain name.
    public var bundles: [String: TrustBundle]
    /// Renewal status of this source's X.509-SVID identities (kept through the disappearance grace).
    public var renewals: [RenewalTracker.Status]
    /// Bundle changes seen per trust domain since start.
    public var bundleUpdates: [String: Int]
    public var jwtSVIDs: [JWTSVIDReport] = []
    public var jwtBundles: [String: JWTBundle] = [:]
    /// JWT renewal status; tracked per audience set, whose tracker source is `source` NUL `audience`.
    public var jwtRenewals: [RenewalTracker.Status] = []

    public static func jwtTrackerSource(source: String, audience: String) -> String { source + "\u{0}" + audience }

    public static func splitJWTTrackerSource(_ value: String) -> (source: String, audience: String) {
        let parts = value.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }

    public init(
        source: String, svids: [X509SVIDReport], bundles: [String: TrustBundle],
        renewals: [RenewalTracker.Status] = [], bundleUpdates: [String: Int] = [:]
    ) {
        self.bundleUpdates = bundleUpdates
        self.source = source
        self.svids = svids
        self.bundles = bundles
        self.renewals = renewals
    }
}

/// Renders per-identity series fresh from snapshots at scrape time: a vanished identity simply
/// stops being emitted, and every countdown uses the same injected `now`.
public enum IdentityMetrics {
    /// Renewal outcomes in label-value order (the order they appear in the exposition).
    static let outcomesByLabel = RenewalOutcome.allCases.sorted { $0.rawValue < $1.rawValue }

    static let identityLabels = ["source", "spiffe_id"]

    /// Indices `0..<count` in the order `isBefore` gives, sorting only when they are not already
    /// in order (the store hands reports and renewal statuses over sorted, so a scrape usually pays
    /// one linear check). Compares through indices so no element is copied.
    static func orderedIndices(count: Int, isBefore: (Int, Int) -> Bool) -> [Int] {
        var i = 1
        while i < count, !isBefore(i, i - 1) { i += 1 }
        return i >= count ? Array(0..<count) : (0..<count).sorted(by: isBefore)
    }

    public static func collect(_ sources: [SourceSnapshot], now: Date, into builder: inout ScrapeBuilder) {
        var bundleCerts: [Sample] = []
        var bundleValid: [Sample] = []
        var bundleEarliest: [Sample] = []
        var bundleLatest: [Sample] = []
        var caExpiry: [Sample] = []
        var updates: [Sample] = []
        var jwtExpiry: [Sample] = []
        var jwtExpiresIn: [Sample] = []
        var jwtValid: [Sample] = []
        var jwtProblems: [Sample] = []
        var jwtRenewals: [Sample] = []
        var jwtKeys: [Sample] = []
        let nowSeconds = now.timeIntervalSince1970

        // Columns in exposition order (sources, then identities, sorted by label value).
        var svids = X509Columns()
        var renewals = RenewalColumns()
        for snapshot in sources.sorted(by: { $0.source < $1.source }) {
            var previousID: String?
            for index in orderedIndices(count: snapshot.svids.count, isBefore: { snapshot.svids[$0].spiffeID < snapshot.svids[$1].spiffeID }) {
                let report = snapshot.svids[index]
                // Two SVIDs of one source with the same SPIFFE ID would be the same series: keep the first.
                if report.spiffeID == previousID { continue }
                previousID = report.spiffeID
                svids.append(source: snapshot.source, report, now: now)
            }
            for index in orderedIndices(
                count: snapshot.renewals.count,
                isBefore: { snapshot.renewals[$0].key.identity < snapshot.renewals[$1].key.identity }) {
                renewals.append(source: snapshot.source, snapshot.renewals[index])
            }
            for (trustDomain, bundle) in snapshot.bundles {
                let labels = [snapshot.source, trustDomain]
                let summary = bundle.summary(at: now)
                bundleCerts.append(Sample(labels, Double(summary.certificates)))
                bundleValid.append(Sample(labels, Double(summary.validCertificates)))
                if let earliest = summary.earliestValidExpiry {
                    bundleEarliest.append(Sample(labels, earliest.timeIntervalSince1970))
                }
                if let latest = summary.latestExpiry {
                    bundleLatest.append(Sample(labels, latest.timeIntervalSince1970))
                }
                for fact in bundle.facts {
                    caExpiry.append(Sample(labels + [fact.identifier], fact.notAfter.timeIntervalSince1970))
                }
            }
            for report in snapshot.jwtSVIDs {
                let labels = [snapshot.source, report.spiffeID, report.audience]
                if let exp = report.expiresAt {
                    jwtExpiry.append(Sample(labels, exp.timeIntervalSince1970))
                    jwtExpiresIn.append(Sample(labels, exp.timeIntervalSince1970 - nowSeconds))
                }
                let failing = report.problems(at: now)
                jwtValid.append(Sample(labels, failing.isEmpty ? 1 : 0))
                for problem in failing { jwtProblems.append(Sample(labels + [problem.rawValue], 1)) }
            }
            for status in snapshot.jwtRenewals {
                let audience = SourceSnapshot.splitJWTTrackerSource(status.key.source).audience
                for outcome in RenewalOutcome.allCases {
                    jwtRenewals.append(
                        Sample(
                            [snapshot.source, status.key.identity, audience, outcome.rawValue],
                            Double(status.outcomes[outcome] ?? 0)))
                }
            }
            for (trustDomain, bundle) in snapshot.jwtBundles {
                jwtKeys.append(Sample([snapshot.source, trustDomain], Double(bundle.keys.count)))
            }
            for (trustDomain, count) in snapshot.bundleUpdates {
                updates.append(Sample([snapshot.source, trustDomain], Double(count)))
            }
        }
        addX509Families(svids, renewals, nowSeconds: nowSeconds, into: &builder)
        builder.add(MetricCatalog.bundleCertificates, bundleCerts)
        builder.add(MetricCatalog.bundleValidCertificates, bundleValid)
        builder.add(MetricCatalog.bundleEarliestExpiry, bundleEarliest)
        builder.add(MetricCatalog.bundleLatestExpiry, bundleLatest)
        builder.add(MetricCatalog.bundleCAExpiry, caExpiry)
        builder.add(MetricCatalog.jwtSVIDExpiry, jwtExpiry)
        builder.add(MetricCatalog.jwtSVIDExpiresIn, jwtExpiresIn)
        builder.add(MetricCatalog.jwtSVIDValid, jwtValid)
        builder.add(MetricCatalog.jwtSVIDProblem, jwtProblems)
        builder.add(MetricCatalog.jwtSVIDRenewals, jwtRenewals)
        builder.add(MetricCatalog.jwtBundleKeys, jwtKeys)
        builder.add(MetricCatalog.bundleUpdates, updates)
    }
}

extension IdentityMetrics {
    /// What the X.509 families need of each identity, as plain columns: rendering 90,000 series
    /// then copies bytes and doubles, with no reference counting per series.
    struct X509Columns: Sendable {
        var labels = LabelTable()
        var notBefore: [Double?] = []
        var notAfter: [Double?] = []
        /// Reason codes of failing checks, sorted; empty (no allocation) for a healthy SVID.
        var problems: [[String]] = []
        var problemCount = 0

        mutating func append(source: String, _ report: X509SVIDReport, now: Date) {
            labels.append([source, report.spiffeID])
            notBefore.append(report.leaf?.notBefore.timeIntervalSince1970)
            notAfter.append(report.leaf?.notAfter.timeIntervalSince1970)
            let failing = report.problems(at: now)
            problems.append(failing.isEmpty ? [] : failing.map(\.rawValue).sorted())
            problemCount += failing.count
        }
    }

    struct RenewalColumns: Sendable {
        var labels = LabelTable()
        /// Counts per identity in ``outcomesByLabel`` order.
        var outcomes: [Double] = []
        var overdue: [Double?] = []
        var deadline: [Double?] = []

        mutating func append(source: String, _ status: RenewalTracker.Status) {
            labels.append([source, status.key.identity])
            for outcome in outcomesByLabel { outcomes.append(Double(status.outcomes[outcome] ?? 0)) }
            overdue.append(status.overdue.map { $0 ? 1 : 0 })
            deadline.append(status.deadline?.timeIntervalSince1970)
        }
    }

    /// The per-identity X.509 families (9 series an identity: ~90,000 for 10,000 identities) are
    /// written by the builder straight into the response buffer: no `Sample` per series.
    static func addX509Families(
        _ svids: X509Columns, _ renewals: RenewalColumns, nowSeconds: Double, into builder: inout ScrapeBuilder
    ) {
        func add(
            _ d: MetricDescriptor, _ table: LabelTable, lines: Int,
            _ body: @escaping @Sendable (_ row: Int, _ labels: UnsafeBufferPointer<UInt8>, _ f: SeriesLineFormat, _ out: inout [UInt8]) -> Void
        ) {
            let format = SeriesLineFormat(d)
            builder.add(d, estimatedBytes: lines * format.fixedBytes + table.bytes.count) { out in
                table.forEachRow { row, labels in body(row, labels, format, &out) }
            }
        }
        let rows = svids.labels.count
        add(MetricCatalog.x509SVIDExpiry, svids.labels, lines: rows) { row, labels, f, out in
            if let v = svids.notAfter[row] { f.write(labels, v, to: &out) }
        }
        add(MetricCatalog.x509SVIDIssued, svids.labels, lines: rows) { row, labels, f, out in
            if let v = svids.notBefore[row] { f.write(labels, v, to: &out) }
        }
        add(MetricCatalog.x509SVIDExpiresIn, svids.labels, lines: rows) { row, labels, f, out in
            if let v = svids.notAfter[row] { f.write(labels, v - nowSeconds, to: &out) }
        }
        add(MetricCatalog.x509SVIDValid, svids.labels, lines: rows) { row, labels, f, out in
            f.write(labels, svids.problems[row].isEmpty ? 1 : 0, to: &out)
        }
        builder.add(MetricCatalog.x509SVIDProblem, estimatedBytes: svids.problemCount * 160) { out in
            guard svids.problemCount > 0 else { return }
            let f = SeriesLineFormat(MetricCatalog.x509SVIDProblem)
            svids.labels.forEachRow { row, labels in
                for problem in svids.problems[row] { f.write(labels, last: problem, 1, to: &out) }
            }
        }
        let outcomeCount = outcomesByLabel.count
        add(MetricCatalog.x509SVIDRenewals, renewals.labels, lines: renewals.labels.count * outcomeCount) { row, labels, f, out in
            for (i, outcome) in outcomesByLabel.enumerated() {
                f.write(labels, last: outcome.rawValue, renewals.outcomes[row * outcomeCount + i], to: &out)
            }
        }
        add(MetricCatalog.x509SVIDRenewalOverdue, renewals.labels, lines: renewals.labels.count) { row, labels, f, out in
            if let v = renewals.overdue[row] { f.write(labels, v, to: &out) }
        }
        add(MetricCatalog.x509SVIDRenewalDeadline, renewals.labels, lines: renewals.labels.count) { row, labels, f, out in
            if let v = renewals.deadline[row] { f.write(labels, v, to: &out) }
        }
    }
}

/// A collector that renders its own series at scrape time (e.g. certificate files matched by a glob).
public protocol ScrapeContributor: Sendable {
    func collect(now: Date, into builder: inout ScrapeBuilder) async
}

/// Something that can produce a full exposition and say whether it is ready; injected into the
/// HTTP layer so it never depends on the collectors.
public protocol MetricsProvider: Sendable {
    func scrape(format: ExpositionFormat, now: Date) async -> [UInt8]
    /// Sources that have not completed their first sync yet (empty = ready).
    func unsyncedSources() -> [String]
}
