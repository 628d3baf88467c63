import Foundation
import SPIFFEExporterCore
import TestKit
import Testing

/// The one rule behind `check`'s exit code and the /status headline.
@Suite struct CheckVerdictTests {
    static func identity(_ id: String, _ status: CheckStatus, expiresIn: Double? = 3000, source: String = "s") -> CheckIdentity {
        CheckIdentity(
            source: source, kind: "x509", spiffeID: id, audience: nil, expiresAt: expiresIn.map { at($0) },
            expiresInSeconds: expiresIn, lifetimeUsedPercent: nil, problems: [], bundleCAExpiresAt: nil, status: status,
            summary: status == .ok ? "ok" : "expires in soon")
    }

    static func source(_ name: String, up: Bool?, synced: Bool, failure: String? = nil, kind: SourceHealth.Kind = .workloadAPI)
        -> SourceHealth
    {
        SourceHealth(source: name, kind: kind, up: up, synced: synced, lastFailureReason: failure, since: at(-120))
    }

    @Test func healthyIdentitiesAndSourcesAreOKWithNoReasons() {
        let verdict = CheckVerdict.of(
            identities: [Self.identity("spiffe://example.org/a", .ok)], failures: [],
            sources: [Self.source("workload_api", up: true, synced: true), Self.source("files", up: nil, synced: true, kind: .certFiles)])
        #expect(verdict.status == .ok)
        #expect(verdict.reasons.isEmpty)
    }

    @Test func aSourceDownNeverSyncedOrFailingIsAtLeastAWarningWithItsReason() {
        let ok = [Self.identity("spiffe://example.org/a", .ok)]
        let down = CheckVerdict.of(identities: ok, failures: [], sources: [Self.source("agent1", up: false, synced: true, failure: "unavailable")])
        #expect(down.status == .warning)
        #expect(down.reasons == ["WARNING: source agent1 (workload_api) down since \(RFC3339.string(from: at(-120))): unavailable"])
        let never = CheckVerdict.of(identities: ok, failures: [], sources: [Self.source("agent2", up: false, synced: false, failure: "socket_not_found")])
        #expect(never.status == .warning)
        #expect(never.reasons == ["WARNING: source agent2 (workload_api) never synced: socket_not_found"])
        // Up, but a collector reading it fails (a JWT stream, a bundle file): still a warning.
        let failing = CheckVerdict.of(identities: ok, failures: [], sources: [Self.source("files", up: nil, synced: true, failure: "parse_error", kind: .certFiles)])
        #expect(failing.status == .warning)
        #expect(failing.reasons == ["WARNING: source files (cert_files) failing: parse_error"])
    }

    @Test func aCriticalIdentityWinsAndIsListedFirstMostUrgentFirst() {
        let identities = [
            Self.identity("spiffe://example.org/late", .warning, expiresIn: 600),
            Self.identity("spiffe://example.org/ok", .ok),
            Self.identity("spiffe://example.org/later", .critical, expiresIn: 300),
            Self.identity("spiffe://example.org/soonest", .critical, expiresIn: 60),
        ]
        let verdict = CheckVerdict.of(identities: identities, failures: [], sources: [Self.source("a", up: false, synced: true)])
        #expect(verdict.status == .critical)
        #expect(verdict.reasons.map { $0.split(separator: " ").prefix(3).joined(separator: " ") } == [
            "CRITICAL: x509 spiffe://example.org/soonest", "CRITICAL: x509 spiffe://example.org/later",
            "WARNING: x509 spiffe://example.org/late", "WARNING: source a",
        ])
        let sorted = identities.sorted(by: CheckIdentity.moreUrgent).map(\.spiffeID)
        #expect(sorted == ["spiffe://example.org/soonest", "spiffe://example.org/later", "spiffe://example.org/late", "spiffe://example.org/ok"])
    }

    @Test func failuresOrNothingHeldAreUnknownUnlessSomethingIsCritical() {
        let failure = CheckSourceFailure(source: "workload_api", target: "unix:///x", reason: "socket_not_found", detail: "", hint: "")
        #expect(CheckVerdict.of(identities: [Self.identity("spiffe://example.org/a", .ok)], failures: [failure], sources: []).status == .unknown)
        #expect(CheckVerdict.of(identities: [Self.identity("spiffe://example.org/a", .critical)], failures: [failure], sources: []).status == .critical)
        let nothing = CheckVerdict.of(identities: [], failures: [], sources: [Self.source("a", up: false, synced: false)])
        #expect(nothing.status == .unknown)
        #expect(nothing.reasons.last == "UNKNOWN: no identity to check")
        #expect(CheckReport(checkedAt: at(0), identities: [], failures: [failure]).status == .unknown)
    }

    @Test func longListsOfIdentitiesAreCutShort() {
        let many = (0..<14).map { Self.identity("spiffe://example.org/w\($0)", .warning, expiresIn: Double(100 + $0)) }
        let verdict = CheckVerdict.of(identities: many, failures: [], sources: [])
        #expect(verdict.reasons.count == 11)
        #expect(verdict.reasons.last == "… and 4 more identities not OK")
    }

    @Test func anIdentityOfADownSourceKeepsItsExpiryAndSaysSinceWhen() {
        let held = Self.identity("spiffe://example.org/a", .ok, expiresIn: 1800)
        let down = CheckEvaluator.withSource(held, Self.source("s", up: false, synced: true, failure: "unavailable"))
        #expect(down.status == .warning)
        #expect(down.expiresInSeconds == 1800)
        #expect(down.sourceDownSince == at(-120))
        #expect(down.summary == "source down since \(RFC3339.string(from: at(-120))) (unavailable); last known: ok")
        #expect(CheckEvaluator.withSource(held, Self.source("s", up: true, synced: true)) == held)
        #expect(CheckEvaluator.withSource(held, Self.source("s", up: nil, synced: true, kind: .certFiles)) == held)
    }

    @Test func explicitThresholdsAreAbsoluteDefaultsStopAtTheRenewalDeadline() async throws {
        let report = try await PKI().analyze()  // 3610 s lifetime, renewal deadline at 75 %
        // 59 minutes left: the defaults say OK (not yet past the deadline)…
        let defaults = CheckThresholds(warning: 2 * 3600, critical: 3600, deadlineFraction: 0.75)
        #expect(CheckEvaluator.x509(report, source: "s", bundle: nil, thresholds: defaults, now: at(60)).status == .ok)
        // …`check --warn 2h` says WARNING, as any monitoring plugin would.
        let warn = CheckThresholds(warning: 2 * 3600, critical: 60, deadlineFraction: 0.75, warningIsAbsolute: true, criticalIsAbsolute: true)
        let warned = CheckEvaluator.x509(report, source: "s", bundle: nil, thresholds: warn, now: at(60))
        #expect(warned.status == .warning)
        #expect(warned.summary == "expires in 59m0s")
        // An absolute --crit 1h on the same SVID is critical; the default 1h is capped at 902.5 s.
        let crit = CheckThresholds(warning: 2 * 3600, critical: 3600, deadlineFraction: 0.75, criticalIsAbsolute: true)
        #expect(CheckEvaluator.x509(report, source: "s", bundle: nil, thresholds: crit, now: at(60)).status == .critical)
        #expect(CheckEvaluator.x509(report, source: "s", bundle: nil, thresholds: defaults, now: at(3600 - 903)).status == .ok)
    }
}
