import Foundation
import TestKit
import Testing

@testable import SPIFFEExporterCore

/// The render cache may only ever save work: through any sequence of changes, a scrape with the
/// cache must be byte for byte the scrape without it.
@Suite struct IdentityRenderCacheTests {
    /// One scrape's inputs: identities with their notAfter and static problems, renewal statuses.
    struct Step {
        var identities: [(source: String, id: String, notAfter: Double, problems: Set<SVIDProblem>)]
        var statuses: [(source: String, id: String, onTime: Int, overdue: Bool?, deadline: Double?)]
        var now: Double
    }

    static func snapshots(_ step: Step, template: X509SVIDReport) -> [SourceSnapshot] {
        Dictionary(grouping: step.identities, by: \.source).map { source, identities in
            let svids = identities.map { identity -> X509SVIDReport in
                var report = template
                report.spiffeID = identity.id
                report.leaf?.notAfter = at(identity.notAfter)
                report.staticProblems = identity.problems
                return report
            }
            let renewals = step.statuses.filter { $0.source == source }.map {
                RenewalTracker.Status(
                    key: .init(source: $0.source, identity: $0.id), outcomes: [.onTime: $0.onTime],
                    deadline: $0.deadline.map(at), overdue: $0.overdue)
            }
            return SourceSnapshot(source: source, svids: svids, bundles: [:], renewals: renewals)
        }
    }

    static func render(_ snapshots: [SourceSnapshot], now: Double, cache: IdentityRenderCache?) -> String {
        var builder = ScrapeBuilder()
        IdentityMetrics.collect(snapshots, now: at(now), cache: cache, into: &builder)
        return String(decoding: builder.render(.prometheusText), as: UTF8.self)
    }

    static let steps: [Step] = {
        let a = "spiffe://example.org/a"
        let b = "spiffe://example.org/b"
        let hostile = "spiffe://example.org/\"quoted\"\\\nnewline"
        let base = Step(
            identities: [("s", a, 3600, []), ("s", b, 7200, []), ("t", a, 3600, [])],
            statuses: [("s", a, 0, false, 2700), ("s", b, 1, false, 5400)], now: 100)
        var steps = [base]
        var next = base
        next.now = 160  // nothing but the countdown changed
        steps.append(next)
        next.identities[1].notAfter = 9000  // b rotated
        next.statuses[1].onTime = 2
        next.statuses[1].deadline = 7000
        steps.append(next)
        next.identities.append(("s", "spiffe://example.org/c", 3600, []))  // an identity appears
        steps.append(next)
        next.identities[3].id = hostile  // same count, other label values
        steps.append(next)
        next.identities[0].problems = [.keyMismatch]  // a problem appears
        steps.append(next)
        next.statuses[0].overdue = true  // passes its deadline
        next.now = 2800
        steps.append(next)
        next.now = 4000  // a and t/a expire: problems from the clock alone
        steps.append(next)
        next.identities.removeFirst()  // an identity goes away
        next.statuses[0].overdue = nil
        next.statuses[0].deadline = nil
        steps.append(next)
        next.identities = []  // everything goes away
        next.statuses = []
        steps.append(next)
        steps.append(base)  // and comes back
        return steps
    }()

    @Test func cachedScrapesEqualFreshOnesThroughEveryChange() async throws {
        let template = try await PKI().analyze()
        let cache = IdentityRenderCache()
        for (index, step) in Self.steps.enumerated() {
            let snapshots = Self.snapshots(step, template: template)
            let fresh = Self.render(snapshots, now: step.now, cache: nil)
            // Twice: the first may fill the cache, the second must read it.
            #expect(Self.render(snapshots, now: step.now, cache: cache) == fresh, "step \(index), first")
            #expect(Self.render(snapshots, now: step.now, cache: cache) == fresh, "step \(index), second")
        }
    }

    @Test func unchangedFamiliesAreNotRenderedAgain() async throws {
        let template = try await PKI().analyze()
        let cache = IdentityRenderCache()
        let snapshots = Self.snapshots(Self.steps[0], template: template)
        _ = Self.render(snapshots, now: 100, cache: cache)
        let first = cache.renders
        #expect(first == 8)  // every family but the countdown, which is never kept
        _ = Self.render(snapshots, now: 160, cache: cache)
        #expect(cache.renders == first)
        // A rotation re-renders the families of the rotated value, not the others.
        let rotated = Self.snapshots(Self.steps[2], template: template)
        _ = Self.render(rotated, now: 160, cache: cache)
        #expect(cache.renders == first + 3)  // expiry, renewals_total, deadline
    }

    @Test func concurrentScrapesOfAlternatingStatesStayExact() async throws {
        let template = try await PKI().analyze()
        let cache = IdentityRenderCache()
        let cases = Self.steps.map { step in
            let snapshots = Self.snapshots(step, template: template)
            return (snapshots, step.now, Self.render(snapshots, now: step.now, cache: nil))
        }
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for round in 0..<200 {
                let (snapshots, now, fresh) = cases[round % cases.count]
                group.addTask { Self.render(snapshots, now: now, cache: cache) == fresh ? 0 : 1 }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
