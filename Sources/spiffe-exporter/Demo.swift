import ArgumentParser
import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore
import ServiceLifecycle
import WorkloadAPISimulator

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the exporter against a built-in Workload API simulator with short-lived SVIDs.",
        discussion: """
            The demo listens on \(Demo.defaultListenAddress) (loopback only) unless --web.listen-address \
            says otherwise, and prints its URLs and the simulated agent's socket.
            """)

    /// Loopback: the demo serves a simulated agent's identities, nothing to offer the network.
    static let defaultListenAddress = "127.0.0.1:9841"
    static let partnerTrustDomain = "partner.example"

    @OptionGroup var options: ServerOptions

    @Option(name: .customLong("demo.svid-ttl"), help: "Lifetime of the simulated X.509-SVIDs.")
    var svidTTL = "2m"

    @Option(name: .customLong("demo.trust-domain"), help: "Trust domain of the simulated agent.")
    var trustDomain = "example.org"

    @Option(
        name: .customLong("demo.fault"),
        help: "Fault the simulated agent injects: \(DemoFault.allCases.map(\.rawValue).joined(separator: ", ")).")
    var fault: DemoFault = .none

    @Option(
        name: .customLong("demo.agent-fault"),
        help: "Fault of the simulated agent itself: \(DemoAgentFault.allCases.map(\.rawValue).joined(separator: ", ")).")
    var agentFault: DemoAgentFault = .none

    @Option(
        name: .customLong("demo.federation-fault"),
        help: "Fault of partner.example's federation bundle endpoint: \(DemoFederationFault.allCases.map(\.rawValue).joined(separator: ", ")).")
    var federationFault: DemoFederationFault = .none

    @Flag(
        name: .customLong("demo.intermediate"),
        help: "Issue the SVIDs from an intermediate CA, as a SPIRE server with an UpstreamAuthority does.")
    var intermediate = false

    @Flag(
        name: .customLong("demo.stale-server"),
        help: "The probed demo TLS server and the demo Envoy never reload their SVIDs after a rotation (spiffe_served_svid_current 0, spiffe_envoy_svid_current 0).")
    var staleServer = false

    @Option(
        name: .customLong("demo.clock-offset"),
        help: "How far the simulated issuer's clock runs ahead of this host's (e.g. 30s; negative: behind), for spiffe_clock_skew_estimate_seconds.")
    var clockOffset = "0s"

    func run() async throws {
        // The shared flags go through the same resolution as `serve`'s; the collectors are the demo's own.
        let configuration: ExporterConfiguration
        do {
            var flags = options.settings
            if flags.web.listenAddress == nil { flags.web.listenAddress = Self.defaultListenAddress }
            configuration = try ExporterConfiguration.resolve(file: nil, flags: flags, environment: [:])
        } catch {
            throw ValidationError(error.description)
        }
        let logger = configuration.log.logger()
        let ttl: Double
        do { ttl = try DurationText.seconds(svidTTL) } catch { throw ValidationError("--demo.svid-ttl: \(error)") }
        guard ttl >= 10 else { throw ValidationError("--demo.svid-ttl must be at least 10s") }
        let offset: Double
        do {
            offset = clockOffset.hasPrefix("-")
                ? -(try DurationText.seconds(String(clockOffset.dropFirst()))) : try DurationText.seconds(clockOffset)
        } catch { throw ValidationError("--demo.clock-offset: \(error)") }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spiffe-exporter-demo-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Removed on every way out: a return (SIGTERM and SIGINT shut the service group down
        // gracefully), an error, and a signal that comes before the group handles signals.
        defer { try? FileManager.default.removeItem(at: directory) }
        let earlySignals = EarlySignalCleanup(directory: directory)
        let socket = directory.appendingPathComponent("agent.sock").path
        var simulatorConfiguration = SimulatorConfiguration(
            socketPath: socket,
            trustDomain: trustDomain,
            spiffeIDs: ["spiffe://\(trustDomain)/ns/demo/sa/frontend", "spiffe://\(trustDomain)/ns/demo/sa/backend"],
            svidTTL: ttl,
            useIntermediate: intermediate,
            federatedTrustDomains: [Self.partnerTrustDomain],
            fault: fault.simulatorFault,
            jwtTTL: ttl)
        simulatorConfiguration.clockOffset = offset
        // Other workloads of the node, seen through the Delegated Identity API.
        DemoDelegated.configure(&simulatorConfiguration, directory: directory, ttl: ttl)
        let simulator = try WorkloadAPISimulator(configuration: simulatorConfiguration)
        try simulator.setAgentFault(agentFault.simulatorFault)
        try await simulator.start()
        // partner.example's SPIRE server bundle endpoint (https_spiffe), fetched by the exporter.
        let endpoint: FederationBundleEndpoint
        do {
            endpoint = try await FederationBundleEndpoint.start(simulator: simulator, trustDomain: Self.partnerTrustDomain)
            try federationFault.apply(to: simulator, trustDomain: Self.partnerTrustDomain)
        } catch {
            await simulator.stop()
            throw error
        }
        do {
            try await serve(
                simulator: simulator, simulatorConfiguration: simulatorConfiguration, configuration: configuration,
                federationEndpoint: endpoint, directory: directory, logger: logger, onListening: earlySignals.cancel)
        } catch {
            await endpoint.stop()
            await simulator.stop()
            throw error
        }
        await endpoint.stop()
        await simulator.stop()
    }

    /// The demo's collectors and HTTP server on a started simulator, until shutdown.
    private func serve(
        simulator: WorkloadAPISimulator, simulatorConfiguration: SimulatorConfiguration,
        configuration: ExporterConfiguration, federationEndpoint: FederationBundleEndpoint, directory: URL, logger: Logger,
        onListening: @escaping @Sendable () -> Void
    ) async throws {
        let http = configuration.web.http
        let socket = simulatorConfiguration.socketPath
        logger.info("simulated SPIRE agent started", metadata: ["socket": "\(socket)", "svid_ttl": "\(svidTTL)"])

        var collectors = ExporterConfiguration.Collectors()
        // The flags' timeout and JWT settings, on the simulated agent.
        let agent = WorkloadEndpointAddress.unix(path: socket)
        var source = configuration.collectors.workloadAPI.first ?? ExporterConfiguration.WorkloadAPISource(address: agent)
        source.address = agent
        if source.jwtAudiences.isEmpty { source.jwtAudiences = [["spiffe-exporter-demo"]] }
        collectors.workloadAPI = [source]
        collectors.agentHealth.interval = .seconds(5)
        // spiffe-helper's view of the same agent, watched as a certificate-files source.
        let helperDirectory = directory.appendingPathComponent("spiffe-helper").path
        var helperWriter = try DemoSPIFFEHelperWriter(simulator: simulator, directory: helperDirectory, logger: logger)
        collectors.certFiles = try CertFilesFlags.makeConfigurations(
            directories: ["spiffe_helper=\(helperDirectory)"],
            globs: ["demo_files=\(helperDirectory)/svid.pem", "demo_files=\(helperDirectory)/svid_bundle.pem"])
        collectors.delegated = DemoDelegated.configuration(simulator: simulatorConfiguration, timeout: source.timeout)
        // The agent itself: GetInfo on the admin socket, and its data file (written by the writer).
        let agentDataFile = directory.appendingPathComponent("agent-data.json").path
        helperWriter.agentDataFile = agentDataFile
        collectors.agent = simulatorConfiguration.adminSocketPath.map { admin in
            ExporterConfiguration.Agent(adminAddress: .unix(path: admin), dataFile: agentDataFile, interval: .seconds(5))
        }
        // A workload's TLS endpoint serving the rotating backend SVID, probed by the exporter (mTLS).
        let backend = try await DemoProbe.start(
            simulator: simulator, spiffeID: "spiffe://\(trustDomain)/ns/demo/sa/backend", reloads: !staleServer,
            logger: logger)
        collectors.probe = backend.probe
        // Envoy's admin /certs without Envoy: a listener with the backend SVID and an upstream
        // cluster presenting the frontend SVID, both kept at their first SVID with --demo.stale-server.
        let envoy = try await DemoEnvoyAdmin.start(reloads: !staleServer, logger: logger) {
            let svids = simulator.currentSVIDs
            let root = [simulator.rootCA.certificate]
            return ["backend", "frontend"].compactMap { name in
                svids.first { $0.spiffeID == "spiffe://\(trustDomain)/ns/demo/sa/\(name)" }
                    .map { DemoEnvoyAdmin.Context(ca: root, chain: $0.chain) }
            }
        }
        collectors.envoy = ExporterConfiguration.Envoy(
            admins: [.init(name: "demo_envoy", endpoint: envoy.endpoint)], interval: .seconds(5), timeout: .seconds(2))
        collectors.federation.endpoints = [
            try FederationEndpointConfiguration(
                name: "partner", trustDomain: federationEndpoint.trustDomain, url: federationEndpoint.url,
                profile: .httpsSPIFFE, endpointSPIFFEID: federationEndpoint.endpointSPIFFEID)
        ]

        let context = ExporterRunner.context(
            renewal: configuration.renewal.tracker, identities: configuration.identities, logger: logger)
        var plan = collectors.plan(context: context)
        plan.services += [helperWriter, backend.server, envoy]
        // /probe as in production: any target, default settings (the e2e probes the backend).
        let probe = ProbeEndpoint(
            settings: ProbeEndpointSettings(), identities: collectors.probeIdentities(context: context),
            registry: context.registry, logger: logger)
        try await ExporterRunner.run(http: http, context: context, plan: plan, probe: probe, logger: logger) {
            port in
            onListening()
            StandardStreams.out(Self.banner(listen: http.listenAddress, port: port, telemetryPath: http.telemetryPath, agent: agent))
        }
    }
}

/// Until the service group handles SIGTERM and SIGINT (it does once the server listens), either
/// would kill the demo before it removes its directory: until then they remove it, then end the
/// process as the signal would have.
final class EarlySignalCleanup: @unchecked Sendable {
    // Only cancelled after init; DispatchSource is thread-safe.
    private let sources: [any DispatchSourceSignal]

    init(directory: URL) {
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                try? FileManager.default.removeItem(at: directory)
                signal(number, SIG_DFL)
                raise(number)
            }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

extension Demo {
    /// What to open and what to run once the demo listens.
    static func banner(listen: ListenAddress, port: Int, telemetryPath: String, agent: WorkloadEndpointAddress) -> String {
        let wildcard = listen.host == "0.0.0.0" || listen.host == "::"
        let host = wildcard ? "localhost" : listen.host.contains(":") ? "[\(listen.host)]" : listen.host
        let base = "http://\(host):\(port)"
        return """
            spiffe-exporter demo: metrics at \(base)\(telemetryPath) (Ctrl-C to stop)
              landing page:    \(base)/
              status:          \(base)/status
              metrics:         \(base)\(telemetryPath)
              simulated agent: \(agent)
              try:             spiffe-exporter check --address \(agent)

            """
    }
}

/// Simulator faults by name, for `--demo.fault`.
enum DemoFault: String, CaseIterable, ExpressibleByArgument {
    case none
    case noIdentity = "no-identity"
    case unavailable
    case slowFirstResponse = "slow-first-response"
    case stalledRotation = "stalled-rotation"
    case dropStreams = "drop-streams"
    case garbageDER = "garbage-der"
    case expiredSVID = "expired-svid"
    case wrongTrustDomain = "wrong-trust-domain"
    case mismatchedKey = "mismatched-key"
    case emptyBundle = "empty-bundle"

    var simulatorFault: SimulatorFault {
        switch self {
        case .none: .none
        case .noIdentity: .noIdentity
        case .unavailable: .unavailable
        case .slowFirstResponse: .slowFirstResponse(.seconds(15))
        case .stalledRotation: .stalledRotation
        case .dropStreams: .dropStreams
        case .garbageDER: .garbageDER
        case .expiredSVID: .expiredSVID
        case .wrongTrustDomain: .wrongTrustDomain
        case .mismatchedKey: .mismatchedKey
        case .emptyBundle: .emptyBundle
        }
    }
}

/// Faults of partner.example's federation bundle endpoint, for `--demo.federation-fault`.
enum DemoFederationFault: String, CaseIterable, ExpressibleByArgument {
    case none
    /// The partner rotated its CA; the agent keeps delivering the old bundle.
    case staleAgentBundle = "stale-agent-bundle"
    case garbageX5C = "garbage-x5c"
    case hugeBody = "huge-body"
    case redirectLoop = "redirect-loop"
    case wrongTrustDomain = "wrong-trust-domain"
    case silent

    func apply(to simulator: WorkloadAPISimulator, trustDomain: String) throws {
        switch self {
        case .none: break
        case .staleAgentBundle: try simulator.prepareNextFederatedCA(trustDomain: trustDomain)
        case .garbageX5C: simulator.setFederationEndpointFault(.garbageX5C)
        case .hugeBody: simulator.setFederationEndpointFault(.hugeBody)
        case .redirectLoop: simulator.setFederationEndpointFault(.redirectLoop)
        case .wrongTrustDomain: simulator.setFederationEndpointFault(.wrongTrustDomain)
        case .silent: simulator.setFederationEndpointFault(.silent)
        }
    }
}

/// Agent faults by name, for `--demo.agent-fault`.
enum DemoAgentFault: String, CaseIterable, ExpressibleByArgument {
    case none
    case staleSync = "stale-sync"
    case expiredAgentSVID = "expired-agent-svid"
    case unimplemented
    case permissionDenied = "permission-denied"

    var simulatorFault: SimulatedAgentFault {
        switch self {
        case .none: .none
        case .staleSync: .staleSync
        case .expiredAgentSVID: .expiredAgentSVID
        case .unimplemented: .unimplemented
        case .permissionDenied: .permissionDenied
        }
    }
}

/// Plays spiffe-helper for the demo: writes the simulator's first SVID to `svid.pem`,
/// `svid_key.pem` and `svid_bundle.pem`, and rewrites them the way spiffe-helper does (in place,
/// truncate then write, cert → key → bundle) whenever the simulator rotates.
struct DemoSPIFFEHelperWriter: Service {
    let simulator: WorkloadAPISimulator
    let directory: String
    let logger: Logger
    /// Where the simulated agent's `agent-data.json` is kept current, if anywhere.
    var agentDataFile: String? {
        didSet { if let agentDataFile { try? simulator.writeAgentDataFile(to: agentDataFile, reattestable: true) } }
    }

    init(simulator: WorkloadAPISimulator, directory: String, logger: Logger) throws {
        self.simulator = simulator
        self.directory = directory
        self.logger = logger
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Written before the collectors start, so the first load finds the files.
        _ = try write(after: nil)
    }

    func run() async throws {
        let initial = simulator.currentSVIDs.first?.chainPEM
        await cancelWhenGracefulShutdown {
            var written = initial
            var agentSVID = simulator.currentAgentSVID?.chainPEM
            while !Task.isCancelled {
                // Polling is enough for a demo: the simulator rotates every TTL/2.
                do { try await Task.sleep(for: .milliseconds(500)) } catch { return }
                do {
                    written = try self.write(after: written)
                    if let agentDataFile, simulator.currentAgentSVID?.chainPEM != agentSVID {
                        agentSVID = simulator.currentAgentSVID?.chainPEM
                        try simulator.writeAgentDataFile(to: agentDataFile, reattestable: true)
                    }
                } catch {
                    self.logger.warning("demo spiffe-helper files not written", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Writes the files if the simulator's SVID differs from `previous`; returns what is on disk.
    private func write(after previous: String?) throws -> String? {
        guard let svid = simulator.currentSVIDs.first, svid.chainPEM != previous else { return previous }
        let bundle = PEM.encode(type: "CERTIFICATE", der: simulator.rootCA.der)
        for (name, text) in [("svid.pem", svid.chainPEM), ("svid_key.pem", svid.keyPEM), ("svid_bundle.pem", bundle)] {
            // No `.atomic`: the file is truncated and rewritten in place, as os.WriteFile does.
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
        }
        logger.info("demo spiffe-helper files written", metadata: ["directory": "\(directory)", "spiffe_id": "\(svid.spiffeID)"])
        return svid.chainPEM
    }
}
