import ArgumentParser
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore
import WorkloadAPISimulator

/// `--probe.*`: the served-certificate probe, which connects to workloads' TLS endpoints and
/// checks that they present the newest SVID known for their SPIFFE ID (catches missed reloads).
struct ProbeOptions: ParsableArguments {
    @Option(
        name: .customLong("probe.target"),
        help: ArgumentHelp(
            """
            A TLS endpoint to probe, as NAME=HOST:PORT[,spiffe_id=SPIFFE_ID][,sni=SERVER_NAME]\
            [,starttls=postgres|mysql|smtp][,client_auth=required] (NAME becomes the target label; IPv6 as \
            [ADDR]:PORT; starttls= speaks that protocol's upgrade before the TLS handshake: PostgreSQL's \
            SSLRequest, MySQL/MariaDB's SSL handshake, SMTP's EHLO and STARTTLS; client_auth=required also checks that the server \
            refuses a client without certificate). The server must present an X.509-SVID that chains to its trust \
            domain's bundle (and, with spiffe_id, that ID); no host name check. The exporter's own SVID is \
            presented when the server asks for a client certificate. Repeatable.
            """,
            valueName: "name=host:port[,spiffe_id=id][,sni=name][,starttls=postgres|mysql|smtp][,client_auth=required]"))
    var targets: [String] = []

    @Option(name: .customLong("probe.interval"), help: "How often each target is probed. (default: 30s)")
    var interval: String?

    @Option(
        name: .customLong("probe.timeout"),
        help: "Deadline of one probe (connect, TLS handshake, close); at most --probe.interval. (default: 10s, or --probe.interval if shorter)")
    var timeout: String?

    @Option(
        name: .customLong("probe.allowed-target"),
        help: ArgumentHelp(
            """
            Allow GET /probe to connect only to targets matching this host:port pattern (* any run of characters, \
            ? one character; repeatable; adds to the config file's probe.allowed_targets). Without any, /probe \
            connects wherever it is asked: whoever reaches the exporter can make it open connections inside its \
            network.
            """, valueName: "pattern"))
    var allowedTargets: [String] = []

    @Option(
        name: .customLong("probe.max-concurrent"),
        help: "Probes GET /probe runs at once; more are answered 503 (0: no limit). (default: 10)")
    var maxConcurrent: Int?

    var settings: CommandLineSettings.Probe {
        CommandLineSettings.Probe(
            targets: targets, interval: interval, timeout: timeout, allowedTargets: allowedTargets,
            maxConcurrent: maxConcurrent)
    }
}

/// The demo's probed workload: a TLS server presenting the simulator's backend SVID, requiring
/// the exporter's own (frontend) SVID as client certificate, and picking up each rotation, unless
/// `reloads` is false, when it keeps serving its first SVID (`--demo.stale-server`).
enum DemoProbe {
    static let targetName = "demo_backend"

    /// Starts the server; returns it (a service to run with the collectors) and the probe of it.
    static func start(
        simulator: WorkloadAPISimulator, spiffeID: String, reloads: Bool, logger: Logger
    ) async throws -> (server: DemoTLSServer, probe: ProbeConfiguration) {
        let server = try await DemoTLSServer.start(
            reloads: reloads, logger: logger,
            identity: { simulator.currentSVIDs.first { $0.spiffeID == spiffeID }.map { ($0.chainPEM, $0.keyPEM) } },
            clientRootsPEM: { PEM.encode(type: "CERTIFICATE", der: simulator.rootCA.der) })
        // The backend demands the exporter's SVID: client_auth=required checks that it refuses anonymous clients.
        let target = ProbeTarget(
            name: targetName, host: "127.0.0.1", port: server.port, spiffeID: spiffeID, clientAuthRequired: true)
        // Probed often, so the demo's short rotations show within seconds.
        return (server, ProbeConfiguration(targets: [target], interval: .seconds(5), timeout: .seconds(2)))
    }
}
