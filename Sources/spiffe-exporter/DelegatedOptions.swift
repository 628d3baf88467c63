import ArgumentParser
import Foundation
import SPIFFEExporterConfig
import SPIFFEExporterCore
import WorkloadAPISimulator

/// `--collector.delegated.*`: other workloads' SVIDs through SPIRE's Delegated Identity API on the
/// agent's admin socket; `--collector.agent-health.*`: the agent's gRPC health check on the
/// Workload API socket.
struct DelegatedOptions: ParsableArguments {
    @Option(
        name: .customLong("collector.delegated.address"),
        help: ArgumentHelp(
            "The SPIRE agent's admin socket (its admin_socket_path) serving the Delegated Identity API, as unix:///path. The exporter's SPIFFE ID must be in the agent's authorized_delegates.",
            valueName: "unix:///path"))
    var address: String?

    @Option(
        name: .customLong("collector.delegated.subscription"),
        help: ArgumentHelp(
            "Workloads to watch, as NAME=TYPE:VALUE[,TYPE:VALUE...] (e.g. payments=k8s:ns:payments,k8s:sa:api): every registration entry whose selectors are all among these. NAME becomes the source label. Repeatable.",
            valueName: "name=selectors"))
    var subscriptions: [String] = []

    @Option(
        name: .customLong("collector.delegated.process"),
        help: ArgumentHelp(
            "Workloads to watch by process, as NAME=PROCESS: every process of that name in /proc (comm or argv[0]) is followed by PID. Repeatable.",
            valueName: "name=process"))
    var processes: [String] = []

    @Option(
        name: .customLong("collector.delegated.process-rescan-interval"),
        help:
            "How often /proc is rescanned for --collector.delegated.process (new processes, exited ones, reused PIDs). (default: 30s)")
    var processRescanInterval: String?

    @Option(
        name: .customLong("collector.delegated.timeout"),
        help: "Deadline for the first response of a Delegated Identity stream. (default: 10s)")
    var timeout: String?

    @Flag(
        name: .customLong("collector.agent-health"), inversion: .prefixedNo,
        help:
            "Check the agent with grpc.health.v1.Health/Check on the Workload API socket (with the Workload API collector). (default: --collector.agent-health)"
    )
    var agentHealthEnabled: Bool?

    @Option(
        name: .customLong("collector.agent-health.interval"),
        help: "Time between agent health checks; set it to the scrape interval. (default: 15s)")
    var agentHealthInterval: String?

    @Option(name: .customLong("collector.agent-health.timeout"), help: "Deadline of one agent health check. (default: 5s)")
    var agentHealthTimeout: String?

    var settings: CommandLineSettings.Delegated {
        CommandLineSettings.Delegated(
            address: address, subscriptions: subscriptions, processes: processes,
            processRescanInterval: processRescanInterval, timeout: timeout)
    }

    var agentHealthSettings: CommandLineSettings.AgentHealth {
        CommandLineSettings.AgentHealth(
            enabled: agentHealthEnabled, interval: agentHealthInterval, timeout: agentHealthTimeout)
    }
}

/// The demo's node: several workloads served through the simulated agent's Delegated Identity API
/// (two subscriptions by selectors, one by the exporter's own process name).
enum DemoDelegated {
    /// Adds the admin socket and the node's workloads to the simulated agent.
    static func configure(_ configuration: inout SimulatorConfiguration, directory: URL, ttl: TimeInterval) {
        let domain = configuration.trustDomain
        configuration.adminSocketPath = directory.appendingPathComponent("admin.sock").path
        // SPIRE's agent SVIDs usually outlive workload SVIDs (agent_ttl): the workloads set the budget.
        configuration.agentSVIDTTL = ttl * 3
        configuration.delegatedWorkloads = [
            SimulatedWorkload(
                spiffeID: "spiffe://\(domain)/ns/payments/sa/api", selectors: ["k8s:ns:payments", "k8s:sa:api"],
                svidTTL: ttl),
            SimulatedWorkload(
                spiffeID: "spiffe://\(domain)/ns/payments/sa/worker", selectors: ["k8s:ns:payments", "k8s:sa:worker"],
                svidTTL: ttl * 1.5),
            SimulatedWorkload(
                spiffeID: "spiffe://\(domain)/ns/checkout/sa/web", selectors: ["k8s:ns:checkout", "k8s:sa:web"],
                svidTTL: ttl * 2, federatesWith: configuration.federatedTrustDomains),
            // The exporter itself, found in /proc by its process name and subscribed to by PID.
            SimulatedWorkload(
                spiffeID: "spiffe://\(domain)/ns/monitoring/sa/spiffe-exporter", selectors: ["k8s:ns:monitoring"],
                pid: getpid(), svidTTL: ttl),
        ]
    }

    /// The delegated collector on the simulated agent's admin socket, if it has one.
    static func configuration(simulator configuration: SimulatorConfiguration, timeout: Duration)
        -> ExporterConfiguration.Delegated?
    {
        guard let admin = configuration.adminSocketPath else { return nil }
        return ExporterConfiguration.Delegated(
            subscriptions: DelegatedConfiguration(
                address: .unix(path: admin),
                subscriptions: [
                    DelegatedSubscription(
                        name: "payments",
                        target: .selectors([
                            DelegatedSelector(type: "k8s", value: "ns:payments"),
                            DelegatedSelector(type: "k8s", value: "sa:api"),
                            DelegatedSelector(type: "k8s", value: "sa:worker"),
                        ])),
                    DelegatedSubscription(
                        name: "checkout",
                        target: .selectors([
                            DelegatedSelector(type: "k8s", value: "ns:checkout"),
                            DelegatedSelector(type: "k8s", value: "sa:web"),
                        ])),
                    DelegatedSubscription(
                        name: "exporter_process", target: .processName(ProcessInfo.processInfo.processName)),
                ],
                processRescanInterval: .seconds(5)),
            timeout: timeout)
    }
}
