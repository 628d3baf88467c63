import ArgumentParser
import Foundation
import SPIFFEExporterCollectors
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
            "How often /proc is rescanned for --collector.delegated.process (new processes, exited ones, reused PIDs).")
    var processRescanInterval = "30s"

    @Option(
        name: .customLong("collector.delegated.timeout"),
        help: "Deadline for the first response of a Delegated Identity stream.")
    var timeout = "10s"

    @Flag(
        name: .customLong("collector.agent-health"), inversion: .prefixedNo,
        help:
            "Check the agent with grpc.health.v1.Health/Check on the Workload API socket (with the Workload API collector)."
    )
    var agentHealthEnabled = true

    @Option(
        name: .customLong("collector.agent-health.interval"),
        help: "Time between agent health checks; set it to the scrape interval.")
    var agentHealthInterval = "15s"

    @Option(name: .customLong("collector.agent-health.timeout"), help: "Deadline of one agent health check.")
    var agentHealthTimeout = "5s"

    /// Source names that a subscription may not take (the delegated bundle stream's own name).
    static let reservedSourceNames: Set<String> = ["workload_api", "delegated"]

    /// The delegated collector's configuration, or `nil` when it is not enabled.
    func delegatedConfiguration(reserved: Set<String> = []) throws -> DelegatedIdentityCollectorConfiguration? {
        guard address != nil || !subscriptions.isEmpty || !processes.isEmpty else { return nil }
        guard let address else {
            throw ValidationError(
                "--collector.delegated.subscription and --collector.delegated.process need --collector.delegated.address"
            )
        }
        let parsed: WorkloadEndpointAddress
        do {
            parsed = try WorkloadEndpointAddress(parsing: address)
        } catch {
            throw ValidationError("--collector.delegated.address \"\(address)\": \(error)")
        }
        let rescan = try Self.seconds(processRescanInterval, flag: "--collector.delegated.process-rescan-interval")
        let firstResponse = try Self.seconds(timeout, flag: "--collector.delegated.timeout")
        let configuration: DelegatedConfiguration
        do {
            configuration = try Self.makeConfiguration(
                address: parsed, subscriptions: subscriptions, processes: processes, rescan: rescan,
                reserved: reserved.union(Self.reservedSourceNames))
        } catch {
            throw ValidationError("--collector.delegated: \(error)")
        }
        return DelegatedIdentityCollectorConfiguration(
            delegated: configuration, firstResponseTimeout: .milliseconds(Int(firstResponse * 1000)))
    }

    static func makeConfiguration(
        address: WorkloadEndpointAddress, subscriptions: [String], processes: [String], rescan: Double,
        reserved: Set<String>
    ) throws(DelegatedConfigurationError) -> DelegatedConfiguration {
        var parsed: [DelegatedSubscription] = []
        for text in subscriptions { parsed.append(try DelegatedFlags.parseSubscription(text)) }
        for text in processes { parsed.append(try DelegatedFlags.parseProcess(text)) }
        let configuration = DelegatedConfiguration(
            address: address, subscriptions: parsed, processRescanInterval: rescan)
        try configuration.validate(reserved: reserved)
        return configuration
    }

    func agentHealthConfiguration(source: String, workloadAPIAddress: WorkloadEndpointAddress) throws
        -> AgentHealthConfiguration
    {
        let interval = try Self.seconds(agentHealthInterval, flag: "--collector.agent-health.interval")
        let timeout = try Self.seconds(agentHealthTimeout, flag: "--collector.agent-health.timeout")
        guard interval >= 1 else { throw ValidationError("--collector.agent-health.interval must be at least 1s") }
        return AgentHealthConfiguration(
            source: source, address: workloadAPIAddress, interval: .milliseconds(Int(interval * 1000)),
            timeout: .milliseconds(Int(timeout * 1000)))
    }

    /// Adds an agent health check per watched Workload API socket, labelled with that source's
    /// name, and the delegated collector (when configured). Call after the other sources, so their
    /// names are known.
    func addCollectors(
        to components: inout ExporterComponents, workloadAPISources: [(source: String, address: WorkloadEndpointAddress)]
    ) throws {
        if agentHealthEnabled {
            for (source, address) in workloadAPISources {
                components.addAgentHealth(try agentHealthConfiguration(source: source, workloadAPIAddress: address))
            }
        }
        if let configuration = try delegatedConfiguration(reserved: components.plannedSources) {
            components.addDelegated(configuration)
        }
    }

    static func seconds(_ text: String, flag: String) throws -> Double {
        do {
            return try DurationText.seconds(text)
        } catch {
            throw ValidationError("\(flag): \(error)")
        }
    }
}

extension ExporterComponents {
    /// The Delegated Identity collector: each subscription is a source of the shared store.
    mutating func addDelegated(_ configuration: DelegatedIdentityCollectorConfiguration) {
        services.append(
            DelegatedIdentityCollector(configuration: configuration, context: context))
    }

    /// `grpc.health.v1.Health/Check` on the agent's Workload API socket every interval.
    mutating func addAgentHealth(_ configuration: AgentHealthConfiguration) {
        services.append(AgentHealthCollector(configuration: configuration, context: context))
    }
}

/// The demo's node: several workloads served through the simulated agent's Delegated Identity API
/// (two subscriptions by selectors, one by the exporter's own process name), plus the agent
/// health check.
enum DemoDelegated {
    /// Adds the admin socket and the node's workloads to the simulated agent.
    static func configure(_ configuration: inout SimulatorConfiguration, directory: URL, ttl: TimeInterval) {
        let domain = configuration.trustDomain
        configuration.adminSocketPath = directory.appendingPathComponent("admin.sock").path
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

    static func addCollectors(
        to components: inout ExporterComponents, simulator configuration: SimulatorConfiguration,
        firstResponseTimeout: Duration
    ) {
        components.addAgentHealth(
            AgentHealthConfiguration(address: .unix(path: configuration.socketPath), interval: .seconds(5)))
        guard let admin = configuration.adminSocketPath else { return }
        components.addDelegated(
            DelegatedIdentityCollectorConfiguration(
                delegated: DelegatedConfiguration(
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
                    processRescanInterval: 5),
                firstResponseTimeout: firstResponseTimeout))
    }
}
