import ExporterTestKit
import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import TestKit
import Testing
import WorkloadAPISimulator

/// The delegated collector against the simulator's Delegated Identity API: subscriptions,
/// rotation, authorization, faults and recovery.
@Suite("Delegated Identity collector", .timeLimit(.minutes(1)))
struct DelegatedCollectorTests {
    static func labels(_ source: String, _ id: String) -> [String: String] { ["source": source, "spiffe_id": id] }

    static let subscriptions = [Workloads.paymentsSubscription, Workloads.checkoutSubscription]

    @Test("two workloads with different selectors rotate independently and are tracked separately")
    func independentRotation() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments, Workloads.checkout])
            try await withSimulator(node, clock: clock) { simulator in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: Self.subscriptions)
                try await withDelegatedCollector(configuration, feeding: exporter) { _ in
                    let payments = Self.labels("payments", Workloads.paymentsID)
                    let checkout = Self.labels("checkout", Workloads.checkoutID)
                    let first = try await eventually("both subscriptions export their workload") {
                        () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        let ready =
                            scrape.value("spiffe_x509_svid_valid", payments) == 1
                            && scrape.value("spiffe_x509_svid_valid", checkout) == 1
                        return ready ? scrape : nil
                    }
                    // Each subscription is its own source and sees only the workloads it selects.
                    #expect(first.samples("spiffe_x509_svid_valid", ["source": "payments"]).count == 1)
                    #expect(first.samples("spiffe_x509_svid_valid", ["source": "checkout"]).count == 1)
                    for source in ["payments", "checkout"] {
                        #expect(first.value("spiffe_delegated_subscription_svids", ["source": source]) == 1)
                        #expect(first.value("spiffe_workload_api_up", ["source": source]) == 1)
                        #expect(
                            first.value(
                                "spiffe_trust_bundle_certificates", ["source": source, "trust_domain": "example.org"])
                                == 1)
                        #expect(
                            first.value(
                                "spiffe_workload_api_updates_total", ["source": source, "rpc": "SubscribeToX509SVIDs"])
                                == 1)
                    }
                    #expect(
                        first.value(
                            "spiffe_workload_api_updates_total",
                            ["source": "delegated", "rpc": "SubscribeToX509Bundles"])
                            ?? 0 >= 1)
                    #expect(
                        exporter.registry.observationCount(
                            MetricCatalog.workloadAPIRequestDuration, ["payments", "SubscribeToX509SVIDs"]) == 1)
                    #expect(exporter.metrics.unsyncedSources().isEmpty)
                    let paymentsExpiry = try #require(
                        first.value("spiffe_x509_svid_expiry_timestamp_seconds", payments))
                    let checkoutExpiry = try #require(
                        first.value("spiffe_x509_svid_expiry_timestamp_seconds", checkout))

                    clock.advance(by: 5)
                    try simulator.rotateDelegatedWorkload(spiffeID: Workloads.paymentsID)
                    let second = try await eventually("payments' new SVID is exported") { () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        let expiry = scrape.value("spiffe_x509_svid_expiry_timestamp_seconds", payments)
                        return expiry != nil && expiry != paymentsExpiry ? scrape : nil
                    }
                    #expect(
                        second.value("spiffe_x509_svid_renewals_total", payments.merging(["outcome": "on_time"]) { $1 })
                            == 1)
                    #expect(
                        second.value("spiffe_x509_svid_renewals_total", checkout.merging(["outcome": "on_time"]) { $1 })
                            == 0)
                    #expect(second.value("spiffe_x509_svid_expiry_timestamp_seconds", checkout) == checkoutExpiry)
                    #expect(second.value("spiffe_x509_svid_valid", payments) == 1)

                    clock.advance(by: 5)
                    try simulator.rotateDelegatedWorkload(spiffeID: Workloads.checkoutID)
                    let third = try await eventually("checkout's new SVID is exported") { () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        let expiry = scrape.value("spiffe_x509_svid_expiry_timestamp_seconds", checkout)
                        return expiry != nil && expiry != checkoutExpiry ? scrape : nil
                    }
                    #expect(
                        third.value("spiffe_x509_svid_renewals_total", checkout.merging(["outcome": "on_time"]) { $1 })
                            == 1)
                    #expect(
                        third.value("spiffe_x509_svid_renewals_total", payments.merging(["outcome": "on_time"]) { $1 })
                            == 1)
                    // Only the rotated workload's stream got a message each time.
                    #expect(
                        third.value(
                            "spiffe_workload_api_updates_total", ["source": "payments", "rpc": "SubscribeToX509SVIDs"])
                            == 2)
                    #expect(
                        third.value(
                            "spiffe_workload_api_updates_total", ["source": "checkout", "rpc": "SubscribeToX509SVIDs"])
                            == 2)
                    #expect(simulator.delegatedRotations == [Workloads.paymentsID: 1, Workloads.checkoutID: 1])
                }
            }
        }
    }

    @Test("an unauthorized caller gets not_authorized_delegate, with a hint in logs, status and /status")
    func unauthorizedCaller() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments], authorized: false)
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let logs = CapturedLogs()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: [Workloads.paymentsSubscription])
                try await withDelegatedCollector(configuration, feeding: exporter, logger: logs.logger) { collector in
                    try await eventually("PermissionDenied is classified as not_authorized_delegate") {
                        exporter.failures("payments", .notAuthorizedDelegate) >= 1
                            && exporter.failures("delegated", .notAuthorizedDelegate) >= 1
                    }
                    #expect(exporter.failures("payments", .noIdentity) == 0)
                    #expect(exporter.failures("payments", .other) == 0)
                    #expect(exporter.up("payments") == 0)
                    let scrape = await exporter.scrape()
                    #expect(scrape.samples("spiffe_x509_svid_valid").isEmpty)
                    #expect(
                        scrape.value(
                            "spiffe_workload_api_requests_total",
                            ["source": "payments", "rpc": "SubscribeToX509SVIDs", "code": "PermissionDenied"]) ?? 0 >= 1
                    )
                    // A definite answer: the exporter is ready, and says why it sees nothing.
                    #expect(exporter.metrics.unsyncedSources().isEmpty)

                    let status = try #require(collector.status().first { $0.source == "payments" })
                    #expect(status.lastFailure?.reason == .notAuthorizedDelegate)
                    #expect(status.lastFailure?.code == "PermissionDenied")
                    #expect(status.lastFailure?.hint?.contains("authorized_delegates") == true)
                    #expect(status.streaming == false)

                    let page = await exporter.metrics.status(now: Date())
                    let source = try #require(page.sources.first { $0.source == "payments" })
                    #expect(source.lastFailureReason == "not_authorized_delegate")
                    #expect(source.hint?.contains("authorized_delegates") == true)
                    #expect(source.up == false)

                    let errorLines = logs.all.filter {
                        $0.hasPrefix("error") && $0.contains("reason=not_authorized_delegate")
                    }
                    #expect(
                        errorLines.contains { $0.contains("hint=") && $0.contains("authorized_delegates") },
                        "\(logs.all)")

                    // The operator fixes the agent's configuration: the collector recovers on its own.
                    simulator.setAuthorizedDelegate(true)
                    try await eventually("the subscription recovers once authorized") {
                        await exporter.scrape().value(
                            "spiffe_x509_svid_valid", Self.labels("payments", Workloads.paymentsID)) == 1
                    }
                    #expect(exporter.up("payments") == 1)
                    #expect(collector.status().first { $0.source == "payments" }?.lastFailure == nil)
                    #expect(exporter.board.health("payments")?.lastFailureReason == nil)
                }
            }
        }
    }

    @Test("a delegate removed from authorized_delegates mid-stream loses the workloads' SVIDs")
    func revokedMidStream() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments])
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: [Workloads.paymentsSubscription])
                try await withDelegatedCollector(configuration, feeding: exporter) { _ in
                    let payments = Self.labels("payments", Workloads.paymentsID)
                    try await eventually("the SVID is exported") {
                        await exporter.scrape().value("spiffe_x509_svid_valid", payments) == 1
                    }
                    simulator.setAuthorizedDelegate(false)
                    try await eventually("the SVID is withdrawn with not_authorized_delegate") {
                        let scrape = await exporter.scrape()
                        return exporter.failures("payments", .notAuthorizedDelegate) >= 1
                            && scrape.samples("spiffe_x509_svid_valid", ["source": "payments"]).isEmpty
                    }
                    let scrape = await exporter.scrape()
                    #expect(scrape.value("spiffe_delegated_subscription_svids", ["source": "payments"]) == 0)
                    // A withdrawn identity is not a renewal failure.
                    #expect(
                        scrape.value("spiffe_x509_svid_renewals_total", payments.merging(["outcome": "missed"]) { $1 })
                            ?? 0 == 0)
                }
            }
        }
    }

    @Test("a dropped stream is reopened and keeps delivering")
    func streamDrop() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments])
            try await withSimulator(node, clock: clock) { simulator in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: [Workloads.paymentsSubscription])
                try await withDelegatedCollector(configuration, feeding: exporter) { _ in
                    let payments = Self.labels("payments", Workloads.paymentsID)
                    try await eventually("the SVID is exported") {
                        await exporter.scrape().value("spiffe_x509_svid_valid", payments) == 1
                    }
                    let callsBefore = simulator.statistics.calls["SubscribeToX509SVIDs", default: 0]
                    simulator.dropStreams()
                    try await eventually("the drop is counted and the stream reopened") {
                        exporter.failures("payments", .streamClosed) >= 1
                            && simulator.statistics.calls["SubscribeToX509SVIDs", default: 0] > callsBefore
                            && exporter.up("payments") == 1
                    }
                    // The last known SVID stayed exported throughout.
                    #expect(await exporter.scrape().value("spiffe_x509_svid_valid", payments) == 1)
                    let expiry = try #require(
                        await exporter.scrape().value("spiffe_x509_svid_expiry_timestamp_seconds", payments))
                    clock.advance(by: 5)
                    try simulator.rotateDelegatedWorkload(spiffeID: Workloads.paymentsID)
                    try await eventually("a rotation arrives on the reopened stream") {
                        let now = await exporter.scrape().value("spiffe_x509_svid_expiry_timestamp_seconds", payments)
                        return now != nil && now != expiry
                    }
                    #expect(exporter.failures("payments", .streamClosed) >= 1)
                }
            }
        }
    }

    @Test("an agent restart is followed: the collector reconnects and sees the re-issued SVIDs")
    func agentRestart() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments, Workloads.checkout])
            try await withSimulator(node, clock: clock) { simulator in
                let exporter = Exporter()
                // Reconnects wait at least 250 ms, so none lands while stop() cancels the server
                // (an accept during that cancellation traps in NIO, apple/swift-nio#3481).
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: Self.subscriptions,
                    backoff: Backoff(initial: .milliseconds(500), multiplier: 2, cap: .seconds(1)))
                try await withDelegatedCollector(configuration, feeding: exporter) { _ in
                    let payments = Self.labels("payments", Workloads.paymentsID)
                    let checkout = Self.labels("checkout", Workloads.checkoutID)
                    try await eventually("both SVIDs are exported") {
                        let scrape = await exporter.scrape()
                        return scrape.value("spiffe_x509_svid_valid", payments) == 1
                            && scrape.value("spiffe_x509_svid_valid", checkout) == 1
                    }
                    let before = await exporter.scrape()

                    await simulator.stop()
                    try await eventually("the collector notices the agent is gone") {
                        exporter.up("payments") == 0 && exporter.failures("payments", .socketNotFound) >= 1
                    }
                    #expect(exporter.failures("payments", .streamClosed) >= 1)
                    #expect(await exporter.scrape().value("spiffe_x509_svid_valid", payments) == 1)

                    // A restarted agent has re-issued every SVID.
                    clock.advance(by: 5)
                    try simulator.rotateDelegatedWorkloads()
                    try await simulator.start()
                    try await eventually("the collector sees the re-issued SVIDs") {
                        let scrape = await exporter.scrape()
                        return [payments, checkout].allSatisfy { labels in
                            let expiry = scrape.value("spiffe_x509_svid_expiry_timestamp_seconds", labels)
                            return expiry != nil
                                && expiry != before.value("spiffe_x509_svid_expiry_timestamp_seconds", labels)
                        }
                    }
                    #expect(exporter.up("payments") == 1 && exporter.up("checkout") == 1)
                }
            }
        }
    }

    @Test("a subscription follows its workloads: removed entries leave, new ones arrive")
    func entriesComeAndGo() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments])
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: [Workloads.paymentsSubscription])
                try await withDelegatedCollector(configuration, feeding: exporter) { _ in
                    let payments = Self.labels("payments", Workloads.paymentsID)
                    try await eventually("the SVID is exported") {
                        await exporter.scrape().value("spiffe_x509_svid_valid", payments) == 1
                    }
                    simulator.removeDelegatedWorkload(spiffeID: Workloads.paymentsID)
                    try await eventually("the deleted entry's SVID disappears") {
                        let scrape = await exporter.scrape()
                        return scrape.samples("spiffe_x509_svid_valid", ["source": "payments"]).isEmpty
                            && scrape.value("spiffe_delegated_subscription_svids", ["source": "payments"]) == 0
                    }
                    // An empty answer is not a failure: the stream stays up.
                    #expect(exporter.up("payments") == 1)
                    #expect(exporter.failures("payments", .malformedResponse) == 0)
                    // A second workload matching the same selectors joins the subscription.
                    let worker = SimulatedWorkload(
                        spiffeID: "spiffe://example.org/ns/payments/sa/api-canary", selectors: ["k8s:ns:payments"])
                    try simulator.addDelegatedWorkload(worker)
                    try simulator.addDelegatedWorkload(Workloads.payments)
                    try await eventually("both matching workloads are exported") {
                        await exporter.scrape().value("spiffe_delegated_subscription_svids", ["source": "payments"])
                            == 2
                    }
                }
            }
        }
    }

    @Test("a workload's federated bundles are exported with its subscription, verified from the bundle stream")
    func federatedBundles() async throws {
        try await withTemporaryDirectory { directory in
            var checkout = Workloads.checkout
            checkout.federatesWith = ["partner.example"]
            let node = nodeConfiguration(
                directory: directory, workloads: [Workloads.payments, checkout], federated: ["partner.example"])
            try await withSimulator(node) { simulator in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: Self.subscriptions)
                try await withDelegatedCollector(configuration, feeding: exporter) { _ in
                    let scrape = try await eventually("checkout exports its federated bundle") { () async -> Scrape? in
                        let scrape = await exporter.scrape()
                        let found = scrape.value(
                            "spiffe_trust_bundle_certificates",
                            ["source": "checkout", "trust_domain": "partner.example"])
                        return found == 1 && scrape.value("spiffe_x509_svid_valid", ["source": "payments"]) == 1
                            ? scrape : nil
                    }
                    #expect(
                        scrape.samples(
                            "spiffe_trust_bundle_certificates",
                            ["source": "payments", "trust_domain": "partner.example"]
                        ).isEmpty)
                    // A CA rotation step reaches every subscription through the bundle stream.
                    try simulator.prepareNextCA()
                    try await eventually("the new root is seen by both subscriptions") {
                        let scrape = await exporter.scrape()
                        return ["payments", "checkout"].allSatisfy {
                            scrape.value(
                                "spiffe_trust_bundle_certificates", ["source": $0, "trust_domain": "example.org"]) == 2
                        }
                    }
                }
            }
        }
    }

    @Test("pointed at the Workload API socket, the collector says it is the wrong socket")
    func wrongSocket() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments])
            try await withSimulator(node) { _ in
                let exporter = Exporter()
                let configuration = collectorConfiguration(
                    adminSocket: node.socketPath, subscriptions: [Workloads.paymentsSubscription])
                try await withDelegatedCollector(configuration, feeding: exporter) { collector in
                    try await eventually("Unimplemented is counted") {
                        (exporter.registry.value(
                            MetricCatalog.workloadAPIRequests, ["payments", "SubscribeToX509SVIDs", "Unimplemented"])
                            ?? 0) >= 1
                    }
                    #expect(exporter.failures("payments", .other) >= 1)
                    let failure = try #require(collector.status().first { $0.source == "payments" }?.lastFailure)
                    #expect(failure.hint?.contains("admin socket") == true)
                }
            }
        }
    }

    @Test("check: one look at every subscription, with reasons and hints")
    func oneShotCheck() async throws {
        try await withTemporaryDirectory { directory in
            let node = nodeConfiguration(directory: directory, workloads: [Workloads.payments, Workloads.checkout])
            try await withSimulator(node) { simulator in
                let configuration = collectorConfiguration(
                    adminSocket: node.adminSocketPath!, subscriptions: Self.subscriptions)
                let results = await DelegatedIdentityCollector.check(configuration: configuration)
                #expect(results.map(\.source) == ["delegated", "payments", "checkout"])
                #expect(results.allSatisfy { $0.failure == nil })
                #expect(results[1].reports.map(\.spiffeID) == [Workloads.paymentsID])
                #expect(results[1].reports.allSatisfy { $0.isValid(at: Date()) })
                #expect(results[2].target == "selectors k8s:ns:checkout,k8s:sa:web")

                simulator.setAuthorizedDelegate(false)
                let refused = await DelegatedIdentityCollector.check(configuration: configuration)
                for result in refused {
                    #expect(result.failure?.reason == .notAuthorizedDelegate, "\(result.source)")
                    #expect(result.failure?.hint?.contains("authorized_delegates") == true)
                    #expect(result.reports.isEmpty)
                }
            }
        }
    }
}
