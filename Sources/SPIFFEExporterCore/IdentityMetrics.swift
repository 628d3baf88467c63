import Foundation
import Synchronization

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
    /// JWT renewal status, tracked per audience set (``RenewalTracker/Key/audience``).
    public var jwtRenewals: [RenewalTracker.Status] = []
    /// The SPIRE agent's own SVID and state, for an agent source (its SVID is no workload SVID:
    /// it has `spiffe_agent_*` series, not `spiffe_x509_svid_*` ones).
    public var agent: AgentReport?
    /// ``ClockSkewEstimator/estimate`` of the source's stream; `nil` until it has enough samples.
    public var clockSkew: Double?
    /// A federation bundle endpoint source's fetch state and last good bundle.
    public var federation: FederationEndpointState?

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

    /// `cache` keeps the per-identity X.509 families' text between scrapes (see ``IdentityRenderCache``).
    public static func collect(
        _ sources: [SourceSnapshot], now: Date, cache: IdentityRenderCache? = nil, into builder: inout ScrapeBuilder
    ) {
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
        var skew: [Sample] = []
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
                let audience = status.key.audience ?? ""
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
            if let estimate = snapshot.clockSkew { skew.append(Sample([snapshot.source], estimate)) }
        }
        addX509Families(svids, renewals, nowSeconds: nowSeconds, cache: cache, into: &builder)
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
        AgentMetrics.collect(sources, now: now, into: &builder)
        OutageBudget.collect(sources, now: now, into: &builder)
        builder.add(MetricCatalog.clockSkewEstimate, skew)
    }

    /// The expected-identity families: `present` and `missing_seconds` for every exact ID (so
    /// both exist from the first scrape), `problem` while one is absent, and per glob the matched
    /// count and its minimum.
    public static func collect(expected statuses: [ExpectedIdentityStatus], into builder: inout ScrapeBuilder) {
        var present: [Sample] = []
        var missing: [Sample] = []
        var problems: [Sample] = []
        var matched: [Sample] = []
        var minimum: [Sample] = []
        for status in statuses {
            let labels = [status.source, status.spiffeID]
            if status.isGlob {
                matched.append(Sample(labels, Double(status.matched ?? 0)))
                minimum.append(Sample(labels, Double(status.minCount ?? 1)))
                continue
            }
            present.append(Sample(labels, status.present ? 1 : 0))
            missing.append(Sample(labels, status.missingSeconds ?? 0))
            if let problem = status.problem { problems.append(Sample(labels + [problem.rawValue], 1)) }
        }
        builder.add(MetricCatalog.expectedIdentityPresent, present)
        builder.add(MetricCatalog.expectedIdentityMissingSeconds, missing)
        builder.add(MetricCatalog.expectedIdentityProblem, problems)
        builder.add(MetricCatalog.expectedIdentitiesMatched, matched)
        builder.add(MetricCatalog.expectedIdentitiesRequired, minimum)
    }
}

extension IdentityMetrics {
    /// What the X.509 families need of each identity, as plain columns: rendering 90,000 series
    /// then copies bytes and doubles, with no reference counting per series.
    struct X509Columns: Sendable {
        var sources: [String] = []
        var ids: [String] = []
        var notBefore: [Double?] = []
        var notAfter: [Double?] = []
        /// ``X509SVIDReport/earliestIntermediateExpiry``.
        var intermediateNotAfter: [Double?] = []
        /// Reason codes of failing checks, sorted; empty (no allocation) for a healthy SVID.
        var problems: [[String]] = []
        var problemCount = 0

        mutating func append(source: String, _ report: X509SVIDReport, now: Date) {
            sources.append(source)
            ids.append(report.spiffeID)
            notBefore.append(report.leaf?.notBefore.timeIntervalSince1970)
            notAfter.append(report.leaf?.notAfter.timeIntervalSince1970)
            intermediateNotAfter.append(report.earliestIntermediateExpiry?.timeIntervalSince1970)
            let failing = report.problems(at: now)
            problems.append(failing.isEmpty ? [] : failing.map(\.rawValue).sorted())
            problemCount += failing.count
        }
    }

    struct RenewalColumns: Sendable {
        var sources: [String] = []
        var ids: [String] = []
        /// Counts per identity in ``outcomesByLabel`` order.
        var outcomes: [Double] = []
        var overdue: [Double?] = []
        var deadline: [Double?] = []

        mutating func append(source: String, _ status: RenewalTracker.Status) {
            sources.append(source)
            ids.append(status.key.identity)
            for outcome in outcomesByLabel { outcomes.append(Double(status.outcomes[outcome] ?? 0)) }
            overdue.append(status.overdue.map { $0 ? 1 : 0 })
            deadline.append(status.deadline?.timeIntervalSince1970)
        }
    }

    /// The per-identity X.509 families (9 series an identity, 10 with intermediates: ~90,000 for 10,000 identities) are
    /// written straight into the response buffer: no `Sample` per series. With a `cache`, a family
    /// whose inputs did not change since the previous scrape is copied from its text then.
    static func addX509Families(
        _ svids: X509Columns, _ renewals: RenewalColumns, nowSeconds: Double, cache: IdentityRenderCache?,
        into builder: inout ScrapeBuilder
    ) {
        let derived = builder.spiffeIDLabels
        let x509 = IdentityRenderCache.labels(.x509, sources: svids.sources, ids: svids.ids, derived: derived, cache: cache)
        let renewal = IdentityRenderCache.labels(
            .renewal, sources: renewals.sources, ids: renewals.ids, derived: derived, cache: cache)
        func add(
            _ d: MetricDescriptor, _ table: IdentityRenderCache.Labels, lines: Int, inputs: IdentityRenderCache.Inputs?,
            _ body: @escaping @Sendable (_ row: Int, _ labels: UnsafeBufferPointer<UInt8>, _ f: SeriesLineFormat, _ out: inout [UInt8]) -> Void
        ) {
            let format = SeriesLineFormat(d)
            let estimatedBytes = lines * (format.fixedBytes + 24) + table.table.bytes.count
            let render: @Sendable (inout [UInt8]) -> Void = { out in
                table.table.forEachRow { row, labels in body(row, labels, format, &out) }
            }
            guard let cache, let inputs else {
                builder.add(d, estimatedBytes: estimatedBytes, lines: render)
                return
            }
            let text = cache.text(of: d.name, labels: table, inputs: inputs, estimatedBytes: estimatedBytes, render: render)
            builder.add(d, estimatedBytes: text.count) { out in out.append(contentsOf: text) }
        }
        let rows = svids.sources.count
        add(MetricCatalog.x509SVIDExpiry, x509, lines: rows, inputs: .values(svids.notAfter)) { row, labels, f, out in
            if let v = svids.notAfter[row] { f.write(labels, v, to: &out) }
        }
        add(MetricCatalog.x509SVIDIssued, x509, lines: rows, inputs: .values(svids.notBefore)) { row, labels, f, out in
            if let v = svids.notBefore[row] { f.write(labels, v, to: &out) }
        }
        // A countdown: different at every scrape, never worth keeping.
        add(MetricCatalog.x509SVIDExpiresIn, x509, lines: rows, inputs: nil) { row, labels, f, out in
            if let v = svids.notAfter[row] { f.write(labels, v - nowSeconds, to: &out) }
        }
        add(MetricCatalog.x509SVIDIntermediateExpiry, x509, lines: rows, inputs: .values(svids.intermediateNotAfter)) {
            row, labels, f, out in
            if let v = svids.intermediateNotAfter[row] { f.write(labels, v, to: &out) }
        }
        add(MetricCatalog.x509SVIDValid, x509, lines: rows, inputs: .problems(svids.problems)) { row, labels, f, out in
            f.write(labels, svids.problems[row].isEmpty ? 1 : 0, to: &out)
        }
        add(MetricCatalog.x509SVIDProblem, x509, lines: svids.problemCount, inputs: .problems(svids.problems)) { row, labels, f, out in
            for problem in svids.problems[row] { f.write(labels, last: problem, 1, to: &out) }
        }
        let outcomeCount = outcomesByLabel.count
        let renewalRows = renewals.sources.count
        add(MetricCatalog.x509SVIDRenewals, renewal, lines: renewalRows * outcomeCount, inputs: .counts(renewals.outcomes)) {
            row, labels, f, out in
            for (i, outcome) in outcomesByLabel.enumerated() {
                f.write(labels, last: outcome.rawValue, renewals.outcomes[row * outcomeCount + i], to: &out)
            }
        }
        add(MetricCatalog.x509SVIDRenewalOverdue, renewal, lines: renewalRows, inputs: .values(renewals.overdue)) { row, labels, f, out in
            if let v = renewals.overdue[row] { f.write(labels, v, to: &out) }
        }
        add(MetricCatalog.x509SVIDRenewalDeadline, renewal, lines: renewalRows, inputs: .values(renewals.deadline)) { row, labels, f, out in
            if let v = renewals.deadline[row] { f.write(labels, v, to: &out) }
        }
    }
}

/// The text of the per-identity X.509 families from earlier scrapes, reused family by family when
/// that family's inputs are equal to the ones it was rendered from. Between rotations only
/// `spiffe_x509_svid_expires_in_seconds` changes, so a scrape renders one line an identity instead
/// of nine. Inputs are compared, not versioned by the store, so reused text is by construction
/// what a fresh render would give (a test checks exactly that).
public final class IdentityRenderCache: Sendable {
    public init() {}

    enum Table: Hashable, Sendable { case x509, renewal }

    /// Escaped label rows and the generation that tells tables apart, so text rendered with older
    /// labels is never taken for the current ones.
    struct Labels: Sendable {
        var table: LabelTable
        var generation: Int
    }

    enum Inputs: Equatable, Sendable {
        case values([Double?])
        case counts([Double])
        case problems([[String]])
    }

    private struct Rows: Sendable {
        var sources: [String]
        var ids: [String]
        var derived: SPIFFEIDLabels
        var labels: Labels
    }

    private struct Text: Sendable {
        var generation: Int
        var inputs: Inputs
        var bytes: [UInt8]
    }

    private struct State: Sendable {
        var rows: [Table: Rows] = [:]
        var texts: [String: Text] = [:]
        var generation = 0
        var renders = 0
    }

    private let state = Mutex(State())

    /// Family texts rendered (not reused) so far; for tests.
    var renders: Int { state.withLock(\.renders) }

    /// The label table for these rows (with the labels derived from each SPIFFE ID): the cached
    /// one when the rows and the derivation are the same.
    static func labels(
        _ table: Table, sources: [String], ids: [String], derived: SPIFFEIDLabels, cache: IdentityRenderCache?
    ) -> Labels {
        if let cached = cache?.state.withLock({ state -> Labels? in
            guard let rows = state.rows[table], rows.sources == sources, rows.ids == ids, rows.derived == derived else {
                return nil
            }
            return rows.labels
        }) {
            return cached
        }
        var labels = LabelTable(names: ["source", "spiffe_id"] + derived.names)
        for (source, id) in zip(sources, ids) { labels.append([source, id] + derived.values(for: id)) }
        guard let cache else { return Labels(table: labels, generation: 0) }
        return cache.state.withLock { state in
            state.generation += 1
            let fresh = Labels(table: labels, generation: state.generation)
            state.rows[table] = Rows(sources: sources, ids: ids, derived: derived, labels: fresh)
            return fresh
        }
    }

    /// The family's text: the kept one if it was rendered with these labels from equal inputs,
    /// otherwise rendered now (outside the lock: concurrent scrapes do not wait on each other).
    func text(
        of family: String, labels: Labels, inputs: Inputs, estimatedBytes: Int, render: (inout [UInt8]) -> Void
    ) -> [UInt8] {
        if let kept = state.withLock({ state -> [UInt8]? in
            guard let text = state.texts[family], text.generation == labels.generation, text.inputs == inputs else { return nil }
            return text.bytes
        }) {
            return kept
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(estimatedBytes)
        render(&bytes)
        state.withLock { state in
            state.renders += 1
            // A newer table may have replaced these labels meanwhile: keep only the newest text.
            if let current = state.texts[family], current.generation > labels.generation { return }
            state.texts[family] = Text(generation: labels.generation, inputs: inputs, bytes: bytes)
        }
        return bytes
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
