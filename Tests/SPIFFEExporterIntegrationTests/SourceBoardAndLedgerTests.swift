import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import TestKit
import Testing

/// The typed source health every consumer renders, and the renewal ledger behind the store.
@Suite struct SourceBoardTests {
    @Test func healthFollowsDeliveriesAndFailures() async {
        let board = SourceBoard()
        board.register("agent", kind: .workloadAPI, now: at(0))
        board.register("files", kind: .certFiles, now: at(0))
        #expect(board.unsynced() == ["agent", "files"])
        #expect(board.health("agent") == SourceHealth(source: "agent", kind: .workloadAPI, up: false, since: at(0)))
        #expect(board.health("files")?.up == nil)

        board.delivered("agent", what: "FetchX509SVID", now: at(5))
        board.delivered("files", what: "certificate files", now: at(5))
        #expect(board.unsynced().isEmpty)
        #expect(board.health("agent")?.up == true && board.health("agent")?.since == at(5))

        // A failure that does not take the source down keeps `up` and its `since`.
        board.failed("agent", reason: "timeout", hint: "h", message: "FetchX509Bundles ended", down: false, now: at(8))
        #expect(board.health("agent")?.up == true && board.health("agent")?.since == at(5))
        board.failed("agent", reason: "unavailable", hint: "retry", message: "FetchX509SVID ended", down: true, now: at(9))
        let down = board.health("agent")
        #expect(down?.up == false && down?.since == at(9) && down?.lastFailureReason == "unavailable" && down?.hint == "retry")
        #expect(down?.isHealthy == false)

        board.delivered("agent", what: "FetchX509SVID", now: at(12))
        #expect(board.health("agent")?.lastFailureReason == nil && board.health("agent")?.hint == nil)
        #expect(board.events.recent().map(\.kind) == ["recovered", "failure", "failure"])
        #expect(board.events.recent().first?.message == "FetchX509SVID delivering again after unavailable")
    }

    @Test func upGaugeOnlyForSourcesWithStreams() async {
        let board = SourceBoard()
        board.register("b", kind: .delegated, now: at(0))
        board.register("a", kind: .workloadAPI, now: at(0))
        board.register("files", kind: .certFiles, now: at(0))
        board.delivered("a", what: "FetchX509SVID", now: at(1))
        var builder = ScrapeBuilder()
        await board.collect(now: at(1), into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        #expect(text.contains("spiffe_workload_api_up{source=\"a\"} 1\n"))
        #expect(text.contains("spiffe_workload_api_up{source=\"b\"} 0\n"))
        #expect(!text.contains("files"))
        // A subscription following no process is neither up nor down: no series.
        board.setUp("b", nil, now: at(2))
        var again = ScrapeBuilder()
        await board.collect(now: at(2), into: &again)
        #expect(!String(decoding: again.render(.prometheusText), as: UTF8.self).contains("source=\"b\""))
        board.unregister("a")
        #expect(board.health("a") == nil)
    }

    @Test func registeringAgainKeepsTheState() {
        let board = SourceBoard()
        board.register("agent", kind: .workloadAPI, now: at(0))
        board.delivered("agent", what: "FetchX509SVID", now: at(1))
        board.register("agent", kind: .workloadAPI, now: at(2))  // a reload that keeps the source
        #expect(board.health("agent")?.synced == true && board.health("agent")?.up == true)
    }
}

@Suite struct RenewalLedgerTests {
    static func generation(_ serial: String, from: TimeInterval, to: TimeInterval) -> SVIDGeneration {
        SVIDGeneration(fingerprint: serial, notBefore: at(from), notAfter: at(to))
    }

    @Test func jwtExpiryWithoutReplacementIsAnEventLikeX509s() {
        let ledger = RenewalLedger(configuration: RenewalTracker.Configuration(deadlineFraction: 0.5))
        let id = "spiffe://example.org/w"
        ledger.observe(.init(source: "agent"), present: [id: Self.generation("x1", from: 0, to: 100)], now: at(0))
        ledger.observe(.init(source: "agent", audience: "db"), present: [id: Self.generation("j1", from: 0, to: 60)], now: at(0))
        // A scrape's tick finds both expired unreplaced.
        let statuses = ledger.statuses(now: at(200))
        #expect(statuses.x509["agent"]?.first?.outcomes[.missed] == 1)
        #expect(statuses.jwt["agent"]?.first?.outcomes[.missed] == 1)
        #expect(statuses.jwt["agent"]?.first?.key.audience == "db")
        let messages = ledger.events.recent().map(\.message).sorted()
        #expect(
            messages == [
                "renewal overdue: JWT-SVID \(id) for db not replaced by its renewal deadline 2030-01-01T00:00:30Z; it expires at 2030-01-01T00:01:00Z",
                "renewal overdue: SVID \(id) not replaced by its renewal deadline 2030-01-01T00:00:50Z; it expires at 2030-01-01T00:01:40Z",
                "rotation missed: JWT-SVID \(id) for db expired at 2030-01-01T00:01:00Z without a replacement",
                "rotation missed: SVID \(id) expired at 2030-01-01T00:01:40Z without a replacement",
            ])
    }

    @Test func unregisterForgetsX509AndJWT() {
        let ledger = RenewalLedger()
        let id = "spiffe://example.org/w"
        ledger.observe(.init(source: "agent"), present: [id: Self.generation("x1", from: 0, to: 3600)], now: at(0))
        ledger.observe(.init(source: "agent", audience: "db"), present: [id: Self.generation("j1", from: 0, to: 300)], now: at(0))
        ledger.observe(.init(source: "other"), present: [id: Self.generation("x2", from: 0, to: 3600)], now: at(0))
        ledger.unregister(source: "agent")
        let statuses = ledger.statuses(now: at(10))
        #expect(statuses.x509["agent"] == nil && statuses.jwt["agent"] == nil)
        #expect(statuses.x509["other"]?.count == 1)
    }

    @Test func audienceSetsAreTrackedApart() {
        let ledger = RenewalLedger()
        let id = "spiffe://example.org/w"
        ledger.observe(.init(source: "agent", audience: "db"), present: [id: Self.generation("a", from: 0, to: 300)], now: at(0))
        ledger.observe(.init(source: "agent", audience: "cache"), present: [id: Self.generation("b", from: 0, to: 300)], now: at(0))
        // One audience set's token disappearing leaves the other's generation alone.
        ledger.observe(.init(source: "agent", audience: "db"), present: [:], now: at(10))
        let jwt = ledger.statuses(now: at(20)).jwt["agent"] ?? []
        #expect(jwt.map(\.key.audience) == ["cache", "db"])
        #expect(jwt.first { $0.key.audience == "db" }?.deadline == nil)
        #expect(jwt.first { $0.key.audience == "cache" }?.deadline != nil)
    }
}
