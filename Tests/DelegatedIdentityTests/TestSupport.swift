import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SPIFFEAgentAPIs
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import Synchronization
import ExporterTestKit
import TestKit
import Testing
import WorkloadAPISimulator

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// Delegated-specific helpers; the generic ones are in TestKit.

/// A simulated node: the Workload API socket, the admin socket and these workloads.
func nodeConfiguration(
    directory: String, workloads: [SimulatedWorkload], federated: [String] = [], authorized: Bool = true
) -> SimulatorConfiguration {
    var configuration = SimulatorConfiguration(
        socketPath: directory + "/agent.sock", federatedTrustDomains: federated)
    configuration.adminSocketPath = directory + "/admin.sock"
    configuration.delegatedWorkloads = workloads
    configuration.authorizedDelegate = authorized
    return configuration
}

enum Workloads {
    static let paymentsID = "spiffe://example.org/ns/payments/sa/api"
    static let checkoutID = "spiffe://example.org/ns/checkout/sa/web"
    static let payments = SimulatedWorkload(spiffeID: paymentsID, selectors: ["k8s:ns:payments", "k8s:sa:api"])
    static let checkout = SimulatedWorkload(spiffeID: checkoutID, selectors: ["k8s:ns:checkout", "k8s:sa:web"])

    static let paymentsSubscription = DelegatedSubscription(
        name: "payments",
        target: .selectors([
            DelegatedSelector(type: "k8s", value: "ns:payments"), DelegatedSelector(type: "k8s", value: "sa:api"),
        ]))
    static let checkoutSubscription = DelegatedSubscription(
        name: "checkout",
        target: .selectors([
            DelegatedSelector(type: "k8s", value: "ns:checkout"), DelegatedSelector(type: "k8s", value: "sa:web"),
        ]))
}

func collectorConfiguration(
    adminSocket: String, subscriptions: [DelegatedSubscription], backoff: Backoff = fastBackoff,
    procRoot: String = "/proc", rescan: Double = 30
) -> DelegatedIdentityCollectorConfiguration {
    DelegatedIdentityCollectorConfiguration(
        delegated: DelegatedConfiguration(
            address: .unix(path: adminSocket), subscriptions: subscriptions, processRescanInterval: .seconds(rescan)),
        firstResponseTimeout: .seconds(10), backoff: backoff, procRoot: procRoot)
}

/// The in-process exporter these tests feed.
typealias Exporter = ExporterHarness

/// Runs the collector in a child task for the duration of `body`, then cancels it.
func withDelegatedCollector<T>(
    _ configuration: DelegatedIdentityCollectorConfiguration,
    feeding exporter: Exporter,
    logger: Logger = quietLogger,
    _ body: (DelegatedIdentityCollector<ContinuousClock>) async throws -> T
) async throws -> T {
    let collector = DelegatedIdentityCollector(configuration: configuration, context: exporter.context.with(logger: logger))
    return try await exporter.running([collector]) { try await body(collector) }
}

// MARK: Logs

/// Keeps every log line with all its metadata, to check what the collector writes.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var all: [String] { lines.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "captured") { _ in CapturingLogHandler(sink: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        sink.append("\(event.level) \(event.message) \(fields)")
    }
}

// MARK: A fake /proc

/// Writes `/proc/PID/stat` and `cmdline` for fake processes under a directory.
struct FakeProc {
    let root: String

    func add(pid: Int32, name: String, startTime: UInt64, state: String = "S", argv0: String? = nil) throws {
        let directory = "\(root)/\(pid)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Fields after comm: state (3) ... starttime (22) is the 20th.
        var fields = [state] + Array(repeating: "0", count: 18)
        fields.append("\(startTime)")
        fields += ["0", "0"]
        let stat = "\(pid) (\(name)) " + fields.joined(separator: " ") + "\n"
        try Data(stat.utf8).write(to: URL(fileURLWithPath: directory + "/stat"))
        let cmdline = (argv0 ?? "/usr/bin/\(name)") + "\u{0}--flag\u{0}"
        try Data(cmdline.utf8).write(to: URL(fileURLWithPath: directory + "/cmdline"))
    }

    func remove(pid: Int32) throws {
        try FileManager.default.removeItem(atPath: "\(root)/\(pid)")
    }
}
