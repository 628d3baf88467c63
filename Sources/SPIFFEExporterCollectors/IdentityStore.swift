import Foundation
import SPIFFEExporterCore
import Synchronization
import X509

/// Current identities and bundles per source. Collectors replace a source's state wholesale on each
/// message (Workload API messages are full state, never deltas); scrapes read a snapshot.
public final class IdentityStore: Sendable {
    /// One SVID with what is needed to re-run the time-dependent chain check.
    public struct Entry: Sendable {
        public var material: X509SVIDMaterial
        public var bundles: BundleSet
        public var report: X509SVIDReport

        public init(material: X509SVIDMaterial, bundles: BundleSet, report: X509SVIDReport) {
            self.material = material
            self.bundles = bundles
            self.report = report
        }
    }

    private struct SourceState: Sendable {
        var generation = 0
        var svids: [Entry] = [] {
            // Scrapes take the reports alone, sorted once here for the exposition: a copy-on-write
            // array instead of copying and sorting every entry on each scrape.
            didSet { reports = svids.map(\.report).sorted { $0.spiffeID < $1.spiffeID } }
        }
        private(set) var reports: [X509SVIDReport] = []
        /// Bundles from a dedicated bundle stream (FetchX509Bundles), preferred when present.
        var streamedBundles: [String: TrustBundle]?
        /// Bundles that came with the SVIDs (own + federated), used until a bundle stream delivers.
        var svidBundles: [String: TrustBundle] = [:]
        /// The soonest instant any entry's chain verdict must be recomputed: scrapes skip the
        /// per-entry scan before it (10,000 identities are walked only when a boundary passed).
        var nextReverification: Date = .distantFuture

        mutating func updateNextReverification() {
            nextReverification = svids.lazy.filter { $0.report.chainTrusted != nil }.map(\.report.reverifyAfter).min()
                ?? .distantFuture
        }

        /// Fingerprint of each exported bundle and how often it changed.
        var bundleFingerprints: [String: String] = [:]
        var bundleUpdates: [String: Int] = [:]
        /// JWT-SVIDs by audience label; the token is kept only to re-verify when the JWT bundle
        /// changes and is never exported or logged.
        var jwt: [String: [JWTEntry]] = [:]
        var jwtBundles: [String: JWTBundle] = [:]
        /// An agent source's last known report (kept while the agent cannot be read).
        var agent: AgentReport?
        /// From the fresh SVIDs pushed on the source's stream.
        var skew = ClockSkewEstimator()
        /// A federation bundle endpoint source's state.
        var federation: FederationEndpointState?

        var exportedBundles: [String: TrustBundle] { streamedBundles ?? svidBundles }

        /// Counts trust domains whose exported bundle changed (or appeared).
        mutating func countBundleChanges() {
            for (domain, bundle) in exportedBundles {
                let fingerprint = bundle.fingerprint
                if bundleFingerprints[domain] != fingerprint {
                    bundleFingerprints[domain] = fingerprint
                    bundleUpdates[domain, default: 0] += 1
                }
            }
        }
    }

    /// One JWT-SVID as fetched, with its verdict.
    public struct JWTEntry: Sendable {
        public var token: String
        public var reportedSPIFFEID: String
        public var audiences: [String]
        public var report: JWTSVIDReport

        public init(token: String, reportedSPIFFEID: String, audiences: [String], report: JWTSVIDReport) {
            self.token = token
            self.reportedSPIFFEID = reportedSPIFFEID
            self.audiences = audiences
            self.report = report
        }
    }

    private let state = Mutex<[String: SourceState]>([:])
    /// Renewal state of every identity held here; the store reports each new list to it.
    public let ledger: RenewalLedger
    /// Expected identities; the store reports each new list to them too.
    public let expectations = ExpectationLedger()
    /// When each trust bundle root was first seen in some channel, for the consistency families.
    public let bundleConsistency = TrustBundleConsistencyLedger()

    private struct Presentation: Sendable {
        var spiffeIDLabels = SPIFFEIDLabels.none
        var issuerBackdate = ClockSkewEstimator.defaultBackdate
    }

    private let presentation = Mutex(Presentation())

    /// Labels derived from the SPIFFE ID on every per-identity series.
    public var spiffeIDLabels: SPIFFEIDLabels { presentation.withLock(\.spiffeIDLabels) }

    /// Sets how identities are shown; a new issuer backdate restarts every clock skew estimate, as
    /// its samples were computed with the old one.
    public func configure(spiffeIDLabels: SPIFFEIDLabels, issuerBackdate: TimeInterval) {
        let changed = presentation.withLock { p in
            p.spiffeIDLabels = spiffeIDLabels
            defer { p.issuerBackdate = issuerBackdate }
            return p.issuerBackdate != issuerBackdate
        }
        guard changed else { return }
        state.withLock { s in
            for source in s.keys { s[source]?.skew = ClockSkewEstimator(backdate: issuerBackdate) }
        }
    }

    private func newSource() -> SourceState {
        var source = SourceState()
        source.skew = ClockSkewEstimator(backdate: presentation.withLock(\.issuerBackdate))
        return source
    }

    /// Recent rotations, failures and recoveries, for /status.
    public var events: EventLog { ledger.events }

    public init(ledger: RenewalLedger) {
        self.ledger = ledger
    }

    public convenience init(renewal: RenewalTracker.Configuration = RenewalTracker.Configuration(), events: EventLog = EventLog()) {
        self.init(ledger: RenewalLedger(configuration: renewal, events: events))
    }

    /// The JWT bundles a source currently has, to validate freshly fetched tokens.
    public func jwtBundles(source: String) -> [String: JWTBundle] {
        state.withLock { $0[source]?.jwtBundles ?? [:] }
    }

    /// Replaces the JWT-SVIDs fetched for one audience set.
    public func replaceJWTSVIDs(source: String, audience: String, entries: [JWTEntry], now: Date) {
        var present: [String: SVIDGeneration] = [:]
        for entry in entries {
            guard let exp = entry.report.expiresAt else { continue }
            present[entry.report.spiffeID] = SVIDGeneration(
                fingerprint: entry.report.fingerprint, notBefore: entry.report.issuedAt ?? now, notAfter: exp)
        }
        ledger.observe(RenewalTracker.Scope(source: source, audience: audience), present: present, now: now)
        expectations.observe(source: source, kind: .jwt, audience: audience, held: {
            Dictionary(entries.map { ($0.report.spiffeID, $0.report.problems(at: now).isEmpty) }, uniquingKeysWith: { a, _ in a })
        }, now: now)
        // After the ledger, as for X.509-SVIDs (see ``snapshot(now:)``). FetchJWTBundles streams on
        // its own: bundles that arrived after the caller verified these tokens would otherwise leave
        // them `bundle_missing` until the next poll, so they are verified again, under the lock,
        // against the bundles held now.
        state.withLock { s in
            var src = s[source] ?? newSource()
            let bundles = src.jwtBundles
            src.jwt[audience] = entries.map { entry in
                var entry = entry
                entry.report = JWTSVIDAnalyzer.analyze(
                    token: entry.token, reportedSPIFFEID: entry.reportedSPIFFEID, audiences: entry.audiences,
                    bundles: bundles)
                return entry
            }
            s[source] = src
        }
    }

    /// Replaces a source's JWT bundles and re-verifies its JWT-SVIDs against them.
    public func replaceJWTBundles(source: String, bundles: [String: JWTBundle]) {
        state.withLock { s in
            var src = s[source] ?? newSource()
            src.jwtBundles = bundles
            for (audience, entries) in src.jwt {
                src.jwt[audience] = entries.map { entry in
                    var entry = entry
                    entry.report = JWTSVIDAnalyzer.analyze(
                        token: entry.token, reportedSPIFFEID: entry.reportedSPIFFEID, audiences: entry.audiences,
                        bundles: bundles)
                    return entry
                }
            }
            s[source] = src
        }
    }

    /// Declares a source of the configuration being built.
    public func register(source: String) {
        state.withLock { s in
            if s[source] == nil { s[source] = newSource() }
        }
    }

    /// Forgets a source: its identities, bundles and renewal state (X.509 and JWT). Its
    /// identities are withdrawn for the expectations.
    public func unregister(source: String, now: Date = Date()) {
        let audiences = state.withLock { $0.removeValue(forKey: source) }.map { Array($0.jwt.keys) } ?? []
        ledger.unregister(source: source)
        expectations.observe(source: source, kind: .x509, held: { [:] }, now: now)
        for audience in audiences { expectations.observe(source: source, kind: .jwt, audience: audience, held: { [:] }, now: now) }
    }

    /// Replaces a source's SVIDs with a new full list observed at `now`. `live`: it came on a
    /// stream that had already delivered (a push, not the state sent on connecting), so its new
    /// SVIDs are clock skew samples.
    public func replaceSVIDs(source: String, entries: [Entry], bundles: [String: TrustBundle], now: Date, live: Bool = false) {
        var present: [String: SVIDGeneration] = [:]
        for entry in entries {
            guard let leaf = entry.report.leaf else { continue }
            present[entry.report.spiffeID] = SVIDGeneration(
                fingerprint: leaf.serialNumber, notBefore: leaf.notBefore, notAfter: leaf.notAfter)
        }
        ledger.observe(RenewalTracker.Scope(source: source), present: present, now: now)
        expectations.observe(source: source, kind: .x509, held: { Self.validity(entries, now: now) }, now: now)
        state.withLock { s in
            var src = s[source] ?? newSource()
            src.skew.observe(
                entries.compactMap { entry in
                    entry.report.leaf.map { (entry.report.spiffeID, $0.serialNumber, $0.notBefore) }
                }, arrival: now, live: live)
            src.generation += 1
            src.svids = entries
            src.updateNextReverification()
            src.svidBundles = bundles
            src.countBundleChanges()
            s[source] = src
        }
    }

    /// Replaces an agent source's report. Its SVID is tracked for renewal like a workload SVID;
    /// `issuedAt` stands in for NotBefore when the report does not carry it (GetInfo).
    public func replaceAgent(source: String, report: AgentReport, issuedAt: Date, now: Date) {
        let leaf = report.leaf
        ledger.observe(
            RenewalTracker.Scope(source: source),
            present: [
                report.spiffeID: SVIDGeneration(
                    fingerprint: report.generationFingerprint, notBefore: leaf.notBefore ?? issuedAt, notAfter: leaf.notAfter)
            ], now: now)
        state.withLock { s in
            var src = s[source] ?? newSource()
            src.agent = report
            s[source] = src
        }
    }

    /// Replaces a federation bundle endpoint source's state (after each fetch, good or failed).
    public func replaceFederation(source: String, state federation: FederationEndpointState) {
        state.withLock { s in
            var src = s[source] ?? newSource()
            src.federation = federation
            s[source] = src
        }
    }

    public func federationState(source: String) -> FederationEndpointState? {
        state.withLock { $0[source]?.federation }
    }

    /// Every root CA the exporter holds for `trustDomain`, from any source: the bundles of
    /// Workload API and file sources and the bundles federation endpoints served. What an
    /// `https_spiffe` bundle endpoint's SVID must chain to; `nil` when none is held.
    public func heldTrustBundle(trustDomain: String) -> TrustBundle? {
        let certificates = state.withLock { s -> [Certificate] in
            var certificates: [Certificate] = []
            for source in s.keys.sorted() {
                guard let src = s[source] else { continue }
                certificates += src.exportedBundles[trustDomain]?.certificates ?? []
                if let federation = src.federation, federation.trustDomain == trustDomain {
                    certificates += federation.document?.roots.certificates ?? []
                }
            }
            return certificates
        }
        var seen: Set<Certificate> = []
        let unique = certificates.filter { seen.insert($0).inserted }
        return unique.isEmpty ? nil : TrustBundle(trustDomain: trustDomain, certificates: unique)
    }

    public func agentReport(source: String) -> AgentReport? {
        state.withLock { $0[source]?.agent }
    }

    public func replaceBundles(source: String, bundles: [String: TrustBundle]) {
        state.withLock { s in
            var src = s[source] ?? newSource()
            src.streamedBundles = bundles
            src.countBundleChanges()
            s[source] = src
        }
    }

    /// Forgets the bundles of the bundle stream (it said PermissionDenied): those of the SVIDs remain.
    public func clearStreamedBundles(source: String) {
        state.withLock { s in s[source]?.streamedBundles = nil }
    }

    /// Whether each SPIFFE ID's SVID passes every check at `now`.
    static func validity(_ entries: [Entry], now: Date) -> [String: Bool] {
        Dictionary(entries.map { ($0.report.spiffeID, $0.report.problems(at: now).isEmpty) }, uniquingKeysWith: { a, _ in a })
    }

    /// Drops a source's identities (e.g. the agent said PermissionDenied: it has none for us).
    public func clearSVIDs(source: String, now: Date) {
        ledger.observe(RenewalTracker.Scope(source: source), present: [:], now: now)
        expectations.observe(source: source, kind: .x509, held: { [:] }, now: now)
        state.withLock { s in
            guard var src = s[source] else { return }
            src.generation += 1
            src.svids = []
            src.svidBundles = [:]
            s[source] = src
        }
    }

    public var renewalDeadlineFraction: Double {
        ledger.configuration.deadlineFraction
    }

    /// Registered sources, sorted.
    public var sources: [String] {
        state.withLock { $0.keys.sorted() }
    }

    /// The newest X.509-SVID (latest notBefore, then notAfter) known for a SPIFFE ID across every
    /// source, for comparing with what a server actually presents.
    public func newestSVID(spiffeID: String) -> (source: String, leaf: CertificateFacts)? {
        state.withLock { s in
            var best: (source: String, leaf: CertificateFacts)?
            for (source, src) in s {
                for entry in src.svids where entry.report.spiffeID == spiffeID {
                    guard let leaf = entry.report.leaf else { continue }
                    if let current = best?.leaf,
                        (current.notBefore, current.notAfter) >= (leaf.notBefore, leaf.notAfter)
                    {
                        continue
                    }
                    best = (source, leaf)
                }
            }
            return best
        }
    }

    public func entries(source: String) -> [Entry] {
        state.withLock { $0[source]?.svids ?? [] }
    }

    /// Snapshots every source at `now`, first re-verifying chains whose validity boundary passed.
    public func snapshot(now: Date) async -> [SourceSnapshot] {
        var stale: [(source: String, generation: Int, index: Int, entry: Entry)] = []
        state.withLock { s in
            for (source, src) in s where now >= src.nextReverification {
                for (index, entry) in src.svids.enumerated() where entry.report.needsReverification(at: now) {
                    stale.append((source, src.generation, index, entry))
                }
            }
        }
        for item in stale {
            let report = await X509SVIDAnalyzer.analyze(item.entry.material, bundles: item.entry.bundles, now: now)
            state.withLock { s in
                // Only write back if no newer message replaced the source meanwhile.
                guard s[item.source]?.generation == item.generation else { return }
                s[item.source]?.svids[item.index].report = report
                s[item.source]?.updateNextReverification()
            }
        }
        // The identities first, the renewal state after: writers update the ledger before the
        // identities, so a scrape that sees a new SVID also sees its renewal counted.
        var snapshots = state.withLock { s in
            s.map { source, src -> SourceSnapshot in
                var snapshot = SourceSnapshot(
                    source: source, svids: src.reports, bundles: src.exportedBundles, bundleUpdates: src.bundleUpdates)
                snapshot.jwtSVIDs = src.jwt.keys.sorted().flatMap { src.jwt[$0]!.map(\.report) }
                snapshot.jwtBundles = src.jwtBundles
                snapshot.agent = src.agent
                snapshot.clockSkew = src.skew.estimate
                snapshot.federation = src.federation
                return snapshot
            }
        }
        let renewals = ledger.statuses(now: now)
        for index in snapshots.indices {
            snapshots[index].renewals = renewals.x509[snapshots[index].source] ?? []
            snapshots[index].jwtRenewals = renewals.jwt[snapshots[index].source] ?? []
        }
        return snapshots
    }
}
