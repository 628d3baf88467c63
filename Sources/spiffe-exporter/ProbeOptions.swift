import ArgumentParser
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import WorkloadAPISimulator

/// `--probe.*`: the served-certificate probe, which connects to workloads' TLS endpoints and
/// checks that they present the newest SVID known for their SPIFFE ID (catches missed reloads).
struct ProbeOptions: ParsableArguments {
    @Option(
        name: .customLong("probe.target"),
        help: ArgumentHelp(
            """
            A TLS endpoint to probe, as NAME=HOST:PORT[,spiffe_id=SPIFFE_ID][,sni=SERVER_NAME] (NAME becomes the \
            target label; IPv6 as [ADDR]:PORT). The server must present an X.509-SVID that chains to its trust \
            domain's bundle (and, with spiffe_id, that ID); no host name check. The exporter's own SVID is \
            presented when the server asks for a client certificate. Repeatable.
            """,
            valueName: "name=host:port[,spiffe_id=id][,sni=name]"))
    var targets: [String] = []

    @Option(name: .customLong("probe.interval"), help: "How often each target is probed.")
    var interval = "30s"

    @Option(
        name: .customLong("probe.timeout"),
        help: "Deadline of one probe (connect, TLS handshake, close); at most --probe.interval. (default: 10s, or --probe.interval if shorter)")
    var timeout: String?

    func configuration() throws -> ProbeConfiguration {
        do {
            return try ProbeConfiguration.parse(targets: targets, interval: interval, timeout: timeout)
        } catch {
            throw ValidationError("--probe.target/--probe.interval/--probe.timeout: \(error)")
        }
    }

    /// Adds the probe when at least one target is configured. `clientSource` is the source whose
    /// SVID is presented (default `workload_api`); `bundleSources` are the further sources whose
    /// trust bundles may authenticate servers (other Workload API sources, spiffe-helper directories).
    func addProbe(to components: inout ExporterComponents, clientSource: String? = nil, bundleSources: [String] = []) throws {
        var configuration = try configuration()
        if let clientSource { configuration.clientSource = clientSource }
        components.addProbe(configuration, bundleSources: bundleSources)
    }
}

extension ExporterComponents {
    /// The served-certificate probe: a Service that probes, and a contributor that renders.
    mutating func addProbe(_ configuration: ProbeConfiguration, bundleSources: [String] = []) {
        guard !configuration.targets.isEmpty else { return }
        let identities = StoreProbeIdentities(
            store: store, board: context.board, clientSource: configuration.clientSource, bundleSources: bundleSources)
        let probe = ProbeCollector(
            configuration: configuration, identities: identities, registry: registry, logger: logger)
        services.append(probe)
        contributors.append(probe.contributor)
        probeTargets.formUnion(configuration.targets.map(\.name))
    }
}

/// The demo's probed workload: a TLS server presenting the simulator's backend SVID, requiring
/// the exporter's own (frontend) SVID as client certificate, and picking up each rotation, unless
/// `reloads` is false, when it keeps serving its first SVID (`--demo.stale-server`).
enum DemoProbe {
    static let targetName = "demo_backend"

    static func add(
        to components: inout ExporterComponents, simulator: WorkloadAPISimulator, spiffeID: String, reloads: Bool,
        logger: Logger
    ) async throws {
        let server = try await DemoTLSServer.start(
            reloads: reloads, logger: logger,
            identity: { simulator.currentSVIDs.first { $0.spiffeID == spiffeID }.map { ($0.chainPEM, $0.keyPEM) } },
            clientRootsPEM: { PEM.encode(type: "CERTIFICATE", der: simulator.rootCA.der) })
        components.services.append(server)
        let target = ProbeTarget(name: targetName, host: "127.0.0.1", port: server.port, spiffeID: spiffeID)
        // Probed often, so the demo's short rotations show within seconds.
        components.addProbe(ProbeConfiguration(targets: [target], interval: 5, timeout: 2))
    }
}
