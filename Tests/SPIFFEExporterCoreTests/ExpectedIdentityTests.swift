import Foundation
import SPIFFEExporterCore
import TestKit
import Testing

@Suite struct SPIFFEIDPatternTests {
    func pattern(_ text: String) throws -> SPIFFEIDPattern { try SPIFFEIDPattern(parsing: text) }

    @Test func oneStarIsOneSegmentAndTwoAreAny() throws {
        let one = try pattern("spiffe://example.org/ns/*/sa/web")
        #expect(!one.isExact)
        #expect(one.matches("spiffe://example.org/ns/prod/sa/web"))
        #expect(!one.matches("spiffe://example.org/ns/a/b/sa/web"))
        #expect(!one.matches("spiffe://example.org/ns/prod/sa/api"))
        let within = try pattern("spiffe://example.org/ns/payments/sa/api-*")
        #expect(within.matches("spiffe://example.org/ns/payments/sa/api-7f9c"))
        #expect(within.matches("spiffe://example.org/ns/payments/sa/api-"))
        #expect(!within.matches("spiffe://example.org/ns/payments/sa/web-1"))
        let any = try pattern("spiffe://example.org/ns/payments/**")
        #expect(any.matches("spiffe://example.org/ns/payments/sa/api"))
        #expect(any.matches("spiffe://example.org/ns/payments/a/b/c/d"))
        #expect(!any.matches("spiffe://example.org/ns/checkout/sa/api"))
        let middle = try pattern("spiffe://example.org/**/sa/web")
        #expect(middle.matches("spiffe://example.org/sa/web"))
        #expect(middle.matches("spiffe://example.org/ns/x/y/sa/web"))
        #expect(!middle.matches("spiffe://example.org/ns/x/sa/web/extra"))
        // Another trust domain, or a prefix of the domain, never matches.
        #expect(!any.matches("spiffe://example.org.evil/ns/payments/sa/api"))
        #expect(!any.matches("spiffe://other.org/ns/payments/sa/api"))
    }

    @Test func exactIDsMatchThemselvesOnly() throws {
        let exact = try pattern("spiffe://example.org/ns/prod/sa/web")
        #expect(exact.isExact)
        #expect(exact.matches("spiffe://example.org/ns/prod/sa/web"))
        #expect(!exact.matches("spiffe://example.org/ns/prod/sa/web2"))
    }

    @Test(arguments: [
        "", "example.org/web", "spiffe://example.org", "spiffe://Example.org/web", "spiffe://*.org/web",
        "spiffe://example.org/a**", "spiffe://example.org/***", "spiffe://example.org/a//b", "spiffe://example.org/web/",
        "spiffe://example.org/a?b", "spiffe://example.org/../x",
    ])
    func badPatternsAreRefusedWithAReason(text: String) {
        #expect(throws: SPIFFEIDPatternError.self) { try SPIFFEIDPattern(parsing: text) }
    }

    @Test func hostileLongGlobsStayFast() throws {
        // Backtracking-free: a long ID against many stars is linear per segment.
        let glob = try pattern("spiffe://example.org/" + String(repeating: "*a", count: 200) + "b")
        #expect(!glob.matches("spiffe://example.org/" + String(repeating: "a", count: 1800)))
    }
}

@Suite struct ExpectedIdentityParsingTests {
    @Test func flagFormWithSourceAndOptions() throws {
        let plain = try ExpectedIdentity(parsing: "spiffe://example.org/web")
        #expect(plain.source == nil && plain.kind == .x509 && plain.sourceLabel == "*")
        let named = try ExpectedIdentity(parsing: "payments=spiffe://example.org/ns/payments/**,min_count=3")
        #expect(named.source == "payments" && named.minCount == 3 && !named.pattern.isExact)
        let jwt = try ExpectedIdentity(parsing: "spiffe://example.org/web,kind=jwt,audience=b+a")
        #expect(jwt.kind == .jwt && jwt.audience == "a,b")
    }

    @Test(arguments: [
        "bad name=spiffe://example.org/web", "spiffe://example.org/web,min_count=3", "spiffe://example.org/web,audience=x",
        "spiffe://example.org/*,min_count=0", "spiffe://example.org/web,kind=pem", "spiffe://example.org/web,color=red",
        "spiffe://example.org/web,", "spiffe://example.org/*,min_count=many", "=spiffe://example.org/web",
    ])
    func badFlagsAreRefused(text: String) {
        #expect(throws: ExpectedIdentityError.self) { try ExpectedIdentity(parsing: text) }
    }
}

@Suite struct ExpectedIdentityTrackerTests {
    let web = "spiffe://example.org/ns/prod/sa/web"

    func expectation(_ text: String) throws -> ExpectedIdentity { try ExpectedIdentity(parsing: text) }

    func held(_ id: String, source: String = "workload_api", valid: Bool = true, expiredAt: Date? = nil) -> HeldIdentity {
        HeldIdentity(
            source: source, spiffeID: id, kind: .x509, valid: valid && expiredAt == nil, expired: expiredAt != nil,
            expiresAt: expiredAt)
    }

    @Test func neverSeenCountsFromStartThenPresentThenWithdrawnAtTheMessage() throws {
        var tracker = ExpectedIdentityTracker(expectations: [try expectation("workload_api=\(web)")], startedAt: at(0))
        var status = try #require(tracker.evaluate(held: [], refused: [], now: at(30)).first)
        #expect(!status.present && status.problem == .neverSeen && status.missingSeconds == 30)
        #expect(status.source == "workload_api" && status.spiffeID == web)

        tracker.observe(source: "workload_api", kind: .x509, held: [web: true], now: at(40))
        status = try #require(tracker.evaluate(held: [held(web)], refused: [], now: at(45)).first)
        #expect(status.present && status.problem == nil && status.missingSeconds == 0)

        // Withdrawn at 50 (the message), scraped at 80: missing for 30 s.
        tracker.observe(source: "workload_api", kind: .x509, held: [:], now: at(50))
        status = try #require(tracker.evaluate(held: [], refused: [], now: at(80)).first)
        #expect(!status.present && status.problem == .withdrawn && status.missingSeconds == 30)
        status = try #require(tracker.evaluate(held: [], refused: [], now: at(90)).first)
        #expect(status.missingSeconds == 40)
    }

    @Test func anotherSourceDoesNotCountUnlessTheExpectationNamesNone() throws {
        var tracker = ExpectedIdentityTracker(
            expectations: [try expectation("workload_api=\(web)"), try expectation(web)], startedAt: at(0))
        let statuses = tracker.evaluate(held: [held(web, source: "payments")], refused: [], now: at(10))
        #expect(statuses.map(\.present) == [false, true])
        #expect(statuses.map(\.source) == ["workload_api", "*"])
    }

    @Test func expiredCountsFromNotAfterAndInvalidIsNamed() throws {
        var tracker = ExpectedIdentityTracker(expectations: [try expectation(web)], startedAt: at(0))
        _ = tracker.evaluate(held: [held(web)], refused: [], now: at(100))
        var status = try #require(tracker.evaluate(held: [held(web, expiredAt: at(3600))], refused: [], now: at(3700)).first)
        #expect(status.problem == .expired && status.missingSeconds == 100)
        var other = ExpectedIdentityTracker(expectations: [try expectation(web)], startedAt: at(0))
        status = try #require(other.evaluate(held: [held(web, valid: false)], refused: [], now: at(20)).first)
        #expect(status.problem == .invalid && status.missingSeconds == 20)
    }

    @Test func permissionDeniedIsNotAuthorized() throws {
        var tracker = ExpectedIdentityTracker(
            expectations: [try expectation("workload_api=\(web)"), try expectation("payments=\(web)")], startedAt: at(0))
        let statuses = tracker.evaluate(held: [], refused: ["workload_api"], now: at(5))
        #expect(statuses.map(\.problem) == [.notAuthorized, .neverSeen])
    }

    @Test func aBlipBetweenScrapesStillCountsAsSeen() throws {
        var tracker = ExpectedIdentityTracker(expectations: [try expectation(web)], startedAt: at(0))
        _ = tracker.evaluate(held: [], refused: [], now: at(10))
        tracker.observe(source: "a", kind: .x509, held: [web: true], now: at(20))
        tracker.observe(source: "a", kind: .x509, held: [:], now: at(25))
        let status = try #require(tracker.evaluate(held: [], refused: [], now: at(40)).first)
        #expect(status.problem == .withdrawn && status.missingSeconds == 15)
    }

    @Test func heldBySeveralSourcesIsWithdrawnWhenTheLastDropsIt() throws {
        var tracker = ExpectedIdentityTracker(expectations: [try expectation(web)], startedAt: at(0))
        tracker.observe(source: "a", kind: .x509, held: [web: true], now: at(1))
        tracker.observe(source: "b", kind: .x509, held: [web: true], now: at(2))
        _ = tracker.evaluate(held: [held(web, source: "a")], refused: [], now: at(3))
        tracker.observe(source: "a", kind: .x509, held: [:], now: at(4))
        tracker.observe(source: "b", kind: .x509, held: [:], now: at(6))
        let status = try #require(tracker.evaluate(held: [], refused: [], now: at(10)).first)
        #expect(status.missingSeconds == 4)
    }

    @Test func globsCountDistinctValidIdentities() throws {
        var tracker = ExpectedIdentityTracker(
            expectations: [try expectation("spiffe://example.org/ns/payments/**,min_count=3")], startedAt: at(0))
        let ids = (1...3).map { "spiffe://example.org/ns/payments/sa/api-\($0)" }
        var status = try #require(
            tracker.evaluate(
                held: [held(ids[0]), held(ids[0], source: "b"), held(ids[1]), held(ids[2], valid: false), held(web)],
                refused: [], now: at(1)
            ).first)
        #expect(status.isGlob && status.matched == 2 && status.minCount == 3 && !status.present)
        status = try #require(tracker.evaluate(held: ids.map { held($0) }, refused: [], now: at(2)).first)
        #expect(status.matched == 3 && status.present)
    }

    @Test func jwtExpectationsLookAtTheAudience() throws {
        var tracker = ExpectedIdentityTracker(
            expectations: [try expectation("\(web),kind=jwt,audience=db"), try expectation("\(web),kind=jwt")],
            startedAt: at(0))
        let token = HeldIdentity(source: "workload_api", spiffeID: web, kind: .jwt, audience: "api", valid: true)
        #expect(tracker.evaluate(held: [token, held(web)], refused: [], now: at(1)).map(\.present) == [false, true])
    }

    @Test func reloadKeepsHistoryAndStartsNewOnesNow() throws {
        let kept = try expectation(web)
        var tracker = ExpectedIdentityTracker(expectations: [kept], startedAt: at(0))
        _ = tracker.evaluate(held: [], refused: [], now: at(100))
        let added = try expectation("spiffe://example.org/new")
        tracker.reconfigure([added, kept], now: at(200))
        let statuses = tracker.evaluate(held: [], refused: [], now: at(250))
        #expect(statuses.map(\.missingSeconds) == [50, 250])
    }

    @Test func renderedSeriesArePreZeroedAndCarryTheReason() throws {
        var tracker = ExpectedIdentityTracker(
            expectations: [try expectation("workload_api=\(web)"), try expectation("spiffe://example.org/ns/payments/*,min_count=2")],
            startedAt: at(0))
        var builder = ScrapeBuilder()
        IdentityMetrics.collect(expected: tracker.evaluate(held: [], refused: [], now: at(7)), into: &builder)
        let lines = String(decoding: builder.render(.prometheusText), as: UTF8.self).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map(String.init)
        let labels = #"{source="workload_api",spiffe_id="\#(web)"}"#
        let glob = #"{source="*",pattern="spiffe://example.org/ns/payments/*"}"#
        #expect(
            lines == [
                "spiffe_expected_identities_matched\(glob) 0",
                "spiffe_expected_identities_required\(glob) 2",
                "spiffe_expected_identity_missing_seconds\(labels) 7",
                "spiffe_expected_identity_present\(labels) 0",
                #"spiffe_expected_identity_problem{source="workload_api",spiffe_id="\#(web)",reason="never_seen"} 1"#,
            ])
    }
}

@Suite struct ExpectedIdentityCheckTests {
    func row(_ id: String, source: String = "workload_api", kind: String = "x509", problems: [String] = []) -> CheckIdentity {
        CheckIdentity(
            source: source, kind: kind, spiffeID: id, audience: nil, expiresAt: at(3600), expiresInSeconds: 3600,
            lifetimeUsedPercent: 1, problems: problems, bundleCAExpiresAt: nil, status: problems.isEmpty ? .ok : .critical,
            summary: "")
    }

    @Test func theOneShotCheckIsCriticalForWhatIsMissingAndSaysWhy() throws {
        let expectations = try [
            "workload_api=spiffe://example.org/a", "spiffe://example.org/b", "spiffe://example.org/c",
            "payments=spiffe://example.org/d", "spiffe://example.org/*,min_count=2",
        ].map { try ExpectedIdentity(parsing: $0) }
        let rows = [
            row("spiffe://example.org/a"), row("spiffe://example.org/b", problems: ["expired"]),
            row("spiffe://example.org/c", problems: ["chain_untrusted"]), row("spiffe://example.org/c", kind: "probe"),
        ]
        let refused = CheckSourceFailure(source: "payments", target: "t", reason: "not_authorized_delegate", detail: "", hint: "")
        let checked = ExpectedIdentityTracker.check(expectations, rows: rows, failures: [refused], now: at(0))
        #expect(checked.map(\.status) == [.ok, .critical, .critical, .critical, .critical])
        #expect(checked.map(\.summary) == [
            "present", "missing: expired", "missing: invalid", "missing: not_authorized", "1 matching, at least 2 expected",
        ])
        #expect(checked.map(\.kind) == Array(repeating: "expected x509", count: 5))
        #expect(CheckReport(checkedAt: at(0), identities: checked + rows, failures: []).status == .critical)
        // Only what is missing makes it critical.
        let fine = ExpectedIdentityTracker.check([expectations[0]], rows: rows, failures: [], now: at(0))
        #expect(CheckReport(checkedAt: at(0), identities: fine + [rows[0]], failures: []).status == .ok)
    }

    @Test func statusRowsTellHowLongItHasBeenMissing() throws {
        var tracker = ExpectedIdentityTracker(expectations: [try ExpectedIdentity(parsing: "spiffe://example.org/a")], startedAt: at(0))
        let row = try #require(tracker.evaluate(held: [], refused: [], now: at(125)).map(CheckEvaluator.expected).first)
        #expect(row.summary == "missing for 2m5s: never_seen" && row.problems == ["never_seen"] && row.source == "*")
    }
}

@Suite struct ClockSkewEstimatorTests {
    typealias SVID = (spiffeID: String, serial: String, notBefore: Date)

    @Test func medianOfLivePushesOfNewGenerationsOnly() {
        var estimator = ClockSkewEstimator()
        let id = "spiffe://example.org/web"
        // The first message of a stream is cached state: never a sample.
        estimator.observe([(id, "1", at(-1000))], arrival: at(0), live: false)
        #expect(estimator.samples.isEmpty && estimator.estimate == nil)
        // A bundle-only update repeats the SVID: no sample either.
        estimator.observe([(id, "1", at(-1000))], arrival: at(100), live: true)
        #expect(estimator.samples.isEmpty)
        // Issuer 30 s ahead: NotBefore = issuer time − 10 = local + 20; arrivals 0.2–0.4 s later.
        estimator.observe([(id, "2", at(1000 + 20))], arrival: at(1000.2), live: true)
        estimator.observe([(id, "3", at(2000 + 20))], arrival: at(2000.4), live: true)
        #expect(estimator.estimate == nil)  // absent until three samples
        estimator.observe([(id, "4", at(3000 + 20))], arrival: at(3000.3), live: true)
        let estimate = try? #require(estimator.estimate)
        #expect(abs((estimate ?? 0) - (-29.7)) < 1e-6)
    }

    @Test func oneSlowPushDoesNotMoveTheMedianAndTheWindowSlides() {
        var estimator = ClockSkewEstimator(backdate: 5)
        let id = "spiffe://example.org/web"
        for (n, delay) in [0.1, 0.2, 45, 0.3].enumerated() {
            estimator.observe([(id, "\(n)", at(Double(n) * 100))], arrival: at(Double(n) * 100 + 5 + delay), live: true)
        }
        #expect(estimator.estimate.map { abs($0 - 0.25) < 1e-6 } == true)
        for n in 10..<30 {
            estimator.observe([(id, "\(n)", at(Double(n) * 100))], arrival: at(Double(n) * 100 + 7), live: true)
        }
        #expect(estimator.samples.count == ClockSkewEstimator.window)
        #expect(estimator.estimate == 2)
    }

    @Test func aNewIdentityOnALiveStreamIsFreshToo() {
        var estimator = ClockSkewEstimator()
        estimator.observe([("spiffe://example.org/a", "1", at(0))], arrival: at(10), live: false)
        estimator.observe(
            [("spiffe://example.org/a", "1", at(0)), ("spiffe://example.org/b", "9", at(90))], arrival: at(100.5),
            live: true)
        #expect(estimator.samples == [0.5])
    }
}
