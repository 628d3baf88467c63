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

extension DelegatedIdentityCollector {
    /// Opens the bundle stream and every subscription once, takes the first message of each and
    /// analyses it: for `spiffe-exporter check`. Keys are dropped as in the collector.
    public static func check(
        configuration: DelegatedIdentityCollectorConfiguration,
        logger: Logger = Logger(label: "delegated-check") { _ in SwiftLogNoOpLogHandler() },
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async -> [DelegatedCheckResult] {
        let store = IdentityStore()
        let collector = DelegatedIdentityCollector(
            configuration: configuration, store: store, registry: MetricsRegistry(), logger: logger, clock: clock)
        return await collector.checkOnce()
    }

    private func checkOnce() async -> [DelegatedCheckResult] {
        let address = "\(configuration.delegated.address)"
        func failure(_ rpc: RPC, _ outcome: StreamOutcome) -> DelegatedFailure? {
            guard outcome.messages == 0, let reason = outcome.reason else { return nil }
            return DelegatedFailure(
                rpc: rpc.rawValue, code: outcome.code, reason: reason, detail: outcome.detail,
                hint: DelegatedIdentityHints.hint(
                    reason: reason, code: outcome.code, detail: outcome.detail, address: address))
        }
        var results: [DelegatedCheckResult] = []
        let bundleOutcome = await openOnce(source: configuration.bundleSource, rpc: .subscribeToX509Bundles) {
            api, onMessage in
            try await api.subscribeToX509Bundles(
                Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509BundlesRequest(),
                options: AgentTransport.callOptions()
            ) { response in
                for try await message in response.messages {
                    onMessage()
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
                let outcome = await openOnce(source: name, rpc: .subscribeToX509SVIDs) { [request] api, onMessage in
                    try await api.subscribeToX509SVIDs(request, options: AgentTransport.callOptions()) { response in
                        for try await message in response.messages {
                            onMessage()
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
                    let outcome = await openOnce(source: name, rpc: .subscribeToX509SVIDsByPID) {
                        [request] api, onMessage in
                        try await api.subscribeToX509SVIDsByPID(request, options: AgentTransport.callOptions()) {
                            response in
                            for try await message in response.messages {
                                onMessage()
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
                    reports: store.entries(source: name).map(\.report), failure: failures.first))
        }
        return results
    }
}
