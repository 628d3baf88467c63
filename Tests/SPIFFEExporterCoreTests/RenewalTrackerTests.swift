import Foundation
import SPIFFEExporterCore
import TestKit
import Testing

@Suite struct RenewalTrackerTests {
    let key = RenewalTracker.Key(source: "workload_api", identity: "spiffe://example.org/web")

    /// A 1 h SVID issued at `start` seconds after the reference time; deadline at +45 min (0.75).
    func generation(_ name: String, start: TimeInterval) -> SVIDGeneration {
        SVIDGeneration(fingerprint: name, notBefore: at(start), notAfter: at(start + 3600))
    }

    func observe(_ t: inout RenewalTracker, _ gen: SVIDGeneration?, _ now: TimeInterval) -> [RenewalTracker.Event] {
        t.observe(source: key.source, present: gen.map { [key.identity: $0] } ?? [:], now: at(now))
    }

    func outcomes(_ t: RenewalTracker, _ now: TimeInterval) -> [RenewalOutcome: Int] {
        t.status(now: at(now)).first { $0.key == key }?.outcomes ?? [:]
    }

    @Test func firstObservationIsABaseline() {
        var t = RenewalTracker()
        #expect(observe(&t, generation("a", start: 0), 10) == [])
        #expect(outcomes(t, 10) == [.onTime: 0, .late: 0, .missed: 0])
        let status = t.status(now: at(10))
        #expect(status.first?.deadline == at(2700))
        #expect(status.first?.overdue == false)
    }

    @Test func repeatedIdenticalMessagesAreNotRenewals() {
        var t = RenewalTracker()
        _ = observe(&t, generation("a", start: 0), 10)
        #expect(observe(&t, generation("a", start: 0), 20) == [])
        #expect(observe(&t, generation("a", start: 0), 1800) == [])
    }

    @Test func onTimeLateAndMissed() {
        var t = RenewalTracker()
        _ = observe(&t, generation("a", start: 0), 0)
        // SPIRE rotates at half life: on time.
        #expect(observe(&t, generation("b", start: 1800), 1800) == [.renewal(key, .onTime)])
        // Exactly at the deadline still counts as on time.
        #expect(observe(&t, generation("c", start: 4500), 1800 + 2700) == [.renewal(key, .onTime)])
        // Past the deadline but before expiry: late; overdue meanwhile.
        #expect(t.status(now: at(4500 + 2701)).first?.overdue == true)
        #expect(observe(&t, generation("d", start: 7300), 4500 + 3000) == [.renewal(key, .late)])
        #expect(t.status(now: at(7500)).first?.overdue == false)
        // Nothing arrives: missed exactly once, and overdue stays 1 until a replacement.
        #expect(t.tick(now: at(7300 + 3600)) == [.overdue(key, deadline: at(7300 + 2700))])
        #expect(t.tick(now: at(7300 + 3601)) == [.renewal(key, .missed)])
        #expect(t.tick(now: at(7300 + 9999)) == [])
        #expect(t.status(now: at(7300 + 9999)).first?.overdue == true)
        // The replacement after expiry starts a new generation without a second outcome.
        #expect(observe(&t, generation("e", start: 20000), 20000) == [])
        #expect(outcomes(t, 20000) == [.onTime: 2, .late: 1, .missed: 1])
    }

    @Test func replacementSeenOnlyAfterExpiryWithoutATickIsMissed() {
        var t = RenewalTracker()
        _ = observe(&t, generation("a", start: 0), 0)
        #expect(observe(&t, generation("b", start: 4000), 4000) == [.renewal(key, .missed)])
    }

    @Test func restartBaselineNeverCountsARenewal() {
        var before = RenewalTracker()
        _ = observe(&before, generation("a", start: 0), 0)
        // A new process sees the next generation first: it has nothing to compare with.
        var after = RenewalTracker()
        #expect(observe(&after, generation("b", start: 1800), 1900) == [])
        #expect(outcomes(after, 1900) == [.onTime: 0, .late: 0, .missed: 0])
    }

    @Test func disappearanceIsNotAFailureAndIsForgottenAfterGrace() {
        var t = RenewalTracker(configuration: .init(deadlineFraction: 0.75, disappearanceGrace: 600))
        _ = observe(&t, generation("a", start: 0), 0)
        #expect(observe(&t, nil, 100) == [])
        let status = t.status(now: at(100)).first
        #expect(status?.overdue == nil)
        #expect(status?.deadline == nil)
        // Gone past its expiry while absent: not a missed renewal.
        #expect(t.tick(now: at(650)) == [])
        #expect(t.tick(now: at(700)) == [.forgotten(key)])
        #expect(t.status(now: at(700)).isEmpty)
    }

    @Test func reappearingWithinGraceKeepsCountersAndRebaselines() {
        var t = RenewalTracker()
        _ = observe(&t, generation("a", start: 0), 0)
        _ = observe(&t, generation("b", start: 1800), 1800)
        _ = observe(&t, nil, 1900)
        #expect(observe(&t, generation("c", start: 2000), 2000) == [])
        #expect(outcomes(t, 2000) == [.onTime: 1, .late: 0, .missed: 0])
        #expect(observe(&t, generation("d", start: 3800), 3800) == [.renewal(key, .onTime)])
    }

    @Test func overdueIsAnEventOncePerGeneration() {
        var t = RenewalTracker()
        _ = observe(&t, generation("a", start: 0), 0)
        #expect(t.tick(now: at(2700)) == [])
        #expect(t.tick(now: at(2701)) == [.overdue(key, deadline: at(2700))])
        #expect(t.tick(now: at(2800)) == [])
        #expect(observe(&t, generation("b", start: 3000), 3000) == [.renewal(key, .late)])
        #expect(t.tick(now: at(3000 + 2700)) == [])
        #expect(t.tick(now: at(3000 + 2701)) == [.overdue(key, deadline: at(3000 + 2700))])
    }

    @Test func clockSteppingBackwardsDoesNotRewriteHistory() {
        var t = RenewalTracker()
        _ = observe(&t, generation("a", start: 0), 0)
        _ = t.tick(now: at(3000))
        // The clock steps back an hour: a replacement now is judged at the latest time seen (late).
        // The new generation's deadline (-600 + 2700) is behind that time too: overdue at once.
        #expect(observe(&t, generation("b", start: -600), -600) == [.renewal(key, .late), .overdue(key, deadline: at(2100))])
        // And an expiry already counted is not counted again when time passes it a second time.
        var u = RenewalTracker()
        _ = observe(&u, generation("a", start: 0), 0)
        #expect(u.tick(now: at(3601)) == [.overdue(key, deadline: at(2700)), .renewal(key, .missed)])
        #expect(u.tick(now: at(100)) == [])
        #expect(u.tick(now: at(3700)) == [])
    }

    @Test func sourcesAreIndependent() {
        var t = RenewalTracker()
        t.observe(source: "a", present: ["id": generation("x", start: 0)], now: at(0))
        t.observe(source: "b", present: ["id": generation("y", start: 0)], now: at(0))
        // A message from source b without the identity does not touch source a.
        t.observe(source: "b", present: [:], now: at(10))
        let status = t.status(now: at(10))
        #expect(status.first { $0.key.source == "a" }?.overdue == false)
        #expect(status.first { $0.key.source == "b" }?.overdue == nil)
        t.removeSource("a")
        #expect(t.status(now: at(10)).map(\.key.source) == ["b"])
    }
}
