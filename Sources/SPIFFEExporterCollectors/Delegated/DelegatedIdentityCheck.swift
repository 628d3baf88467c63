import Foundation
import Logging
import SPIFFEAgentAPIs
import SPIFFEExporterCore

/// What a one-shot check of one delegated source found.
public struct DelegatedCheckResult: Sendable {
    public var source: String
    /// `selectors ...`, `process ...` or `bundles`.
    public var target: String
    /// The source's X.509-SVIDs as analysed at check time (empty when it failed or matched none).
    public var reports: [X509SVIDReport]
    /// Why the source could not be read, with a hint; `nil` when it answered.
    public var failure: DelegatedFailure?
}

extension DelegatedIdentityCollector where C == ContinuousClock {
    /// Opens the bundle stream and every subscription once, takes the first message of each and
    /// analyses it: for `spiffe-exporter check`. Keys are dropped as in the collector.
    public static func check(
        configuration: DelegatedIdentityCollectorConfiguration,
        logger: Logger = Logger(label: "delegated-check") { _ in SwiftLogNoOpLogHandler() },
        now: @escaping @Sendable () -> Date = { Date() }
    ) async -> [DelegatedCheckResult] {
        await AgentConnections.with { connections in
            let collector = DelegatedIdentityCollector(
                configuration: configuration,
                context: CollectorContext(
                    store: IdentityStore(), board: SourceBoard(), registry: MetricsRegistry(), connections: connections,
                    logger: logger, now: now),
                clock: ContinuousClock())
            return await collector.checkOnce()
        }
    }
}

extension DelegatedIdentityCollector {

    private func checkOnce() async -> [DelegatedCheckResult] {
        let address = "\(configuration.delegated.address)"
        func failure(_ rpc: RPC, _ outcome: WatchOutcome) -> DelegatedFailure? {
            guard outcome.messages == 0, let reason = outcome.reason else { return nil }
            return DelegatedFailure(
                rpc: rpc.rawValue, code: outcome.code, reason: reason, detail: outcome.detail,
                hint: DelegatedIdentityHints.hint(
                    reason: reason, code: outcome.code, detail: outcome.detail, address: address))
        }
        var results: [DelegatedCheckResult] = []
        let api: API
        do {
            api = API(wrapping: try context.connections.client(for: configuration.delegated.address))
        } catch {
            return []
        }
        let bundleOutcome = await loop.attempt { delivery in
            try await api.subscribeToX509Bundles(
                Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesRequest(),
                options: AgentConnections.callOptions()
            ) { response in
                for try await message in response.messages {
                    delivery.message()
                    await self.handle(message)
                    return
                }
            }
        }
        let bundleFailure = failure(.subscribeToX509Bundles, bundleOutcome)
        if bundleFailure != nil { _ = shared.bundleStreamGaveUp() }
        results.append(
            DelegatedCheckResult(
                source: configuration.bundleSource, target: "bundles", reports: [], failure: bundleFailure))

        for subscription in configuration.delegated.subscriptions {
            let name = subscription.name
            var failures: [DelegatedFailure] = []
            switch subscription.target {
            case .selectors(let selectors):
                let request = Self.request(selectors)
                let outcome = await loop.attempt { [request] delivery in
                    try await api.subscribeToX509SVIDs(request, options: AgentConnections.callOptions()) { response in
                        for try await message in response.messages {
                            delivery.message()
                            await self.handle(message, subscription: name, key: .selectors)
                            return
                        }
                    }
                }
                failures += failure(.subscribeToX509SVIDs, outcome).map { [$0] } ?? []
            case .processName(let process):
                let table = ProcessTable(root: configuration.procRoot)
                for identity in table.processes(named: process).prefix(configuration.maxProcessesPerSubscription) {
                    shared.addStream(name, .process(identity))
                    var request = Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsByPIDRequest()
                    request.pid = identity.pid
                    let outcome = await loop.attempt { [request] delivery in
                        try await api.subscribeToX509SVIDsByPID(request, options: AgentConnections.callOptions()) {
                            response in
                            for try await message in response.messages {
                                delivery.message()
                                await self.handle(message, subscription: name, key: .process(identity))
                                return
                            }
                        }
                    }
                    failures += failure(.subscribeToX509SVIDsByPID, outcome).map { [$0] } ?? []
                }
            }
            await apply(name)
            results.append(
                DelegatedCheckResult(
                    source: name, target: shared.status(bundleSource: "").first { $0.source == name }?.target ?? "",
                    reports: context.store.entries(source: name).map(\.report), failure: failures.first))
        }
        return results
    }
}
