import Foundation
import Logging
import SPIFFEExporterCore

/// Reads each Envoy admin `/certs` once, the way the Envoy collector does, after the other
/// sources of the check filled `store`: the `check` rows of what Envoy holds.
public enum EnvoyCheck {
    public static func run(
        _ configurations: [EnvoyCollectorConfiguration], store: IdentityStore, thresholds: CheckThresholds
    ) async -> (identities: [CheckIdentity], failures: [CheckSourceFailure]) {
        var identities: [CheckIdentity] = []
        var failures: [CheckSourceFailure] = []
        for configuration in configurations {
            let collector = EnvoyCollector(
                configuration: configuration,
                context: CollectorContext(
                    store: store, board: SourceBoard(), registry: MetricsRegistry(), connections: AgentConnections(),
                    logger: Logger(label: "check") { _ in SwiftLogNoOpLogHandler() }))
            switch await collector.read() {
            case .success(let certificates):
                let reading = collector.contributor.compare(certificates)
                identities += EnvoyCheckRows.rows(reading, thresholds: thresholds, now: Date())
            case .failure(let failure):
                failures.append(
                    CheckSourceFailure(
                        source: configuration.source, target: "\(configuration.endpoint)", reason: failure.reason.rawValue,
                        detail: failure.detail, hint: failure.reason.hint))
            }
        }
        return (identities, failures)
    }
}
