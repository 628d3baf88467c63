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

    public static func collect(_ sources: [SourceSnapshot], now: Date, into builder: inout ScrapeBuilder) {
        var expiry: [Sample] = []
        var issued: [Sample] = []
        var expiresIn: [Sample] = []
        var valid: [Sample] = []
        var problems: [Sample] = []
        var bundleCerts: [Sample] = []
        var bundleValid: [Sample] = []
        var bundleEarliest: [Sample] = []
        var bundleLatest: [Sample] = []
        var renewals: [Sample] = []
        var caExpiry: [Sample] = []
        var updates: [Sample] = []
        var jwtExpiry: [Sample] = []
        var jwtExpiresIn: [Sample] = []
        var jwtValid: [Sample] = []
        var jwtProblems: [Sample] = []
        var jwtRenewals: [Sample] = []
        var jwtKeys: [Sample] = []
        var overdue: [Sample] = []
        var deadlines: [Sample] = []
        let nowSeconds = now.timeIntervalSince1970

        // Walk sources and identities in exposition order, so each family comes out already sorted
        // and the writer skips its per-family sort (one sort here instead of one per family).
        for snapshot in sources.sorted(by: { $0.source < $1.source }) {
            let svidOrder = snapshot.svids.indices.sorted { snapshot.svids[$0].spiffeID < snapshot.svids[$1].spiffeID }
            for index in svidOrder {
                let report = snapshot.svids[index]
                let labels = [snapshot.source, report.spiffeID]
                if let leaf = report.leaf {
                    let notAfter = leaf.notAfter.timeIntervalSince1970
                    expiry.append(Sample(labels, notAfter))
                    issued.append(Sample(labels, leaf.notBefore.timeIntervalSince1970))
                    expiresIn.append(Sample(labels, notAfter - nowSeconds))
                }
                let failing = report.problems(at: now)
                valid.append(Sample(labels, failing.isEmpty ? 1 : 0))
                for problem in failing {
                    problems.append(Sample([snapshot.source, report.spiffeID, problem.rawValue], 1))
                }
            }
            let renewalOrder = snapshot.renewals.indices.sorted {
                snapshot.renewals[$0].key.identity < snapshot.renewals[$1].key.identity
            }
            for index in renewalOrder {
                let status = snapshot.renewals[index]
                let labels = [snapshot.source, status.key.identity]
                for outcome in Self.outcomesByLabel {
                    renewals.append(Sample(labels + [outcome.rawValue], Double(status.outcomes[outcome] ?? 0)))
                }
                if let isOverdue = status.overdue { overdue.append(Sample(labels, isOverdue ? 1 : 0)) }
                if let deadline = status.deadline { deadlines.append(Sample(labels, deadline.timeIntervalSince1970)) }
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
        builder.add(MetricCatalog.x509SVIDExpiry, expiry)
        builder.add(MetricCatalog.x509SVIDIssued, issued)
        builder.add(MetricCatalog.x509SVIDExpiresIn, expiresIn)
        builder.add(MetricCatalog.x509SVIDValid, valid)
        builder.add(MetricCatalog.x509SVIDProblem, problems)
        builder.add(MetricCatalog.x509SVIDRenewals, renewals)
        builder.add(MetricCatalog.x509SVIDRenewalOverdue, overdue)
        builder.add(MetricCatalog.x509SVIDRenewalDeadline, deadlines)
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
