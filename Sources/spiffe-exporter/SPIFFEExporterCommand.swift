import ArgumentParser
import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore
import SPIFFEExporterHTTP
import ServiceLifecycle

@main
struct SPIFFEExporterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spiffe-exporter",
        abstract: "Prometheus exporter for SPIFFE/SPIRE workload identities.",
        version: "spiffe-exporter \(BuildVersion.version) (revision \(BuildVersion.revision))",
        subcommands: [Serve.self, Demo.self, Check.self],
        defaultSubcommand: Serve.self
    )

    static func main() async {
        StandardStreams.ignoreSIGPIPE()
        await main(nil)
    }
}

// Options are optional so that "not given" is known and the config file can fill in; their
// defaults are SPIFFEExporterConfig's, and the help texts say them.

/// Flags shared by `serve` and `demo`, in Prometheus exporter vocabulary.
struct ServerOptions: ParsableArguments {
    @Option(
        name: .customLong("web.listen-address"),
        help: "Address to listen on for /metrics (host:port or :port). (default: :9841)")
    var listenAddress: String?

    @Option(name: .customLong("web.telemetry-path"), help: "Path under which to expose metrics. (default: /metrics)")
    var telemetryPath: String?

    @Option(
        name: .customLong("web.config.file"),
        help: "Web configuration file (exporter-toolkit format: TLS, client certificates, basic auth; see docs/web-configuration.md).")
    var webConfigFile: String?

    @Option(
        name: .customLong("web.max-requests"),
        help: "Maximum number of parallel scrape requests; more are answered 503. 0 disables the limit. (default: 40)")
    var maxRequests: Int?

    @Option(
        name: .customLong("collector.workload-api.timeout"),
        help: "Deadline for the first response of a Workload API stream. (default: 10s)")
    var workloadAPITimeout: String?

    @Option(
        name: .customLong("log.level"),
        help: "Only log messages with this severity or above: debug, info, warn, error. (default: info)")
    var logLevel: String?

    @Option(name: .customLong("log.format"), help: "Log format: logfmt or json. (default: logfmt)")
    var logFormat: String?

    @Option(
        name: .customLong("renewal.deadline-fraction"),
        help: "An SVID not replaced by notBefore + lifetime x this is overdue (SPIRE renews at about 0.5). (default: 0.75)")
    var renewalDeadlineFraction: Double?

    @Option(
        name: .customLong("renewal.identity-grace-period"),
        help: "How long renewal series of an identity that disappeared are kept. (default: 10m)")
    var identityGracePeriod: String?

    @Option(
        name: .customLong("collector.workload-api.jwt-audience"),
        help: "Fetch and check a JWT-SVID for this audience set (repeatable; comma-separate several audiences of one set).")
    var jwtAudiences: [String] = []

    @Option(name: .customLong("collector.workload-api.jwt-interval"), help: "How often to fetch each JWT-SVID. (default: 60s)")
    var jwtInterval: String?

    @Option(
        name: .customLong("expect.identity"),
        help: ArgumentHelp(
            "An identity that must exist, [SOURCE=]SPIFFE_ID[,kind=x509|jwt][,audience=A[+B]][,min_count=N]; in the path '*' matches within one segment, '**' any segments (repeatable). Without SOURCE any source may hold it (source=\"*\").",
            valueName: "expectation"))
    var expectedIdentities: [String] = []

    @Option(
        name: .customLong("label.from-spiffe-id"),
        help: ArgumentHelp(
            "Add label NAME, the first capture group of REGEX over the SPIFFE ID (empty when it does not match), to every per-identity series (repeatable, at most 5).",
            valueName: "name=regex"))
    var spiffeIDLabels: [String] = []

    @Option(
        name: .customLong("clock.issuer-backdate"),
        help: "How far the SVID issuer backdates NotBefore, for spiffe_clock_skew_estimate_seconds. (default: 10s)")
    var issuerBackdate: String?

    var settings: CommandLineSettings {
        CommandLineSettings(
            web: .init(
                listenAddress: listenAddress, telemetryPath: telemetryPath, configFile: webConfigFile,
                maxRequests: maxRequests),
            log: .init(level: logLevel, format: logFormat),
            renewal: .init(deadlineFraction: renewalDeadlineFraction, identityGracePeriod: identityGracePeriod),
            workloadAPI: .init(timeout: workloadAPITimeout, jwtAudiences: jwtAudiences, jwtInterval: jwtInterval),
            identities: .init(expected: expectedIdentities, spiffeIDLabels: spiffeIDLabels, issuerBackdate: issuerBackdate))
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the exporter (default).")

    @OptionGroup var options: ServerOptions

    @Option(
        name: .customLong("collector.workload-api.address"),
        help: "Workload API endpoint (unix:///path or tcp://ip:port). Default: $SPIFFE_ENDPOINT_SOCKET, else \(WorkloadEndpointAddress.defaultAddress).")
    var workloadAPIAddress: String?

    @Flag(
        name: .customLong("collector.workload-api"), inversion: .prefixedNo,
        help: "Enable the Workload API collector.")
    var workloadAPIEnabled = true

    @Option(
        name: .customLong("collector.workload-api.source"),
        help: ArgumentHelp(
            "A further Workload API endpoint watched as a source of its own, as NAME=ADDRESS (e.g. node_b=unix:///run/spire-b/agent.sock), with the --collector.workload-api.timeout and JWT settings. Repeatable; the config file's workload_api list does the same.",
            valueName: "name=address"))
    var extraWorkloadAPISources: [String] = []

    @OptionGroup var certFiles: CertFilesOptions

    @OptionGroup var delegated: DelegatedOptions

    @OptionGroup(title: "SPIRE agent") var agent: AgentOptions

    @OptionGroup var probe: ProbeOptions
    @OptionGroup(title: "Envoy") var envoy: EnvoyOptions

    @OptionGroup(title: "Federation bundle endpoints") var federation: FederationOptions

    @Option(name: .customLong("config.file"), help: "YAML configuration file (docs/configuration.md); reloaded on SIGHUP and POST /-/reload.")
    var configFile: String?

    @Flag(name: .customLong("config.check"), help: "Validate the configuration (file and flags), print every problem, and exit.")
    var configCheck = false

    @Flag(name: .customLong("strict"), help: "Exit non-zero at start if a configured source is unreachable or has no valid SVID.")
    var strict = false

    var settings: CommandLineSettings {
        var settings = options.settings
        settings.workloadAPI.enabled = workloadAPIEnabled
        settings.workloadAPI.address = workloadAPIAddress
        settings.workloadAPI.extraSources = extraWorkloadAPISources
        settings.certFiles = certFiles.settings
        settings.delegated = delegated.settings
        settings.agentHealth = delegated.agentHealthSettings
        settings.agent = agent.settings
        settings.probe = probe.settings
        settings.envoy = envoy.settings
        settings.federation = federation.settings
        settings.strict = strict
        return settings
    }

    func run() async throws {
        let flags = settings
        let environment = ProcessInfo.processInfo.environment
        let configuration = try resolve(flags: flags, environment: environment)
        if configCheck {
            if let problem = Self.webSecurityProblem(configuration.web) { try Self.exit(reporting: [problem]) }
            StandardStreams.out("configuration OK\n")
            return
        }
        let logger = configuration.log.logger()
        let context = ExporterRunner.context(
            renewal: configuration.renewal.tracker, identities: configuration.identities, logger: logger)
        let supervisor = CollectorSupervisor(
            store: context.store, board: context.board, registry: context.registry, logger: logger)
        await supervisor.apply(configuration.collectors.plan(context: context))
        let probeEndpoint = configuration.probeEndpoint(context: context)
        let reloader = ConfigReloader(
            configFile: configFile, flags: flags, environment: environment, current: configuration, context: context,
            supervisor: supervisor, probeEndpoint: probeEndpoint, logger: logger)
        reloader.recordLoad(success: true)
        var extra: [any Service] = [SIGHUPReloadService(reloader: reloader, logger: logger)]
        if configuration.strict {
            extra.append(
                StrictStartupCheck(
                    collectors: configuration.collectors, store: context.store, board: context.board, logger: logger))
        }
        let reload: (@Sendable () async -> String?)?
        if configFile != nil {
            reload = { await reloader.reload() }
        } else {
            reload = nil
        }
        try await ExporterRunner.run(
            http: configuration.web.http, context: context, supervisor: supervisor, extraServices: extra, reload: reload,
            probe: probeEndpoint, logger: logger)
    }

    /// A config file with problems exits 1 with all of them, as `--config.check` does with any
    /// problem; other problems are usage errors.
    func resolve(flags: CommandLineSettings, environment: [String: String]) throws -> ExporterConfiguration {
        let file: ConfigFile?
        do {
            file = try configFile.map { path throws(ConfigurationProblems) in try ConfigFileParser.load(path: path) }
        } catch {
            try Self.exit(reporting: error.problems)
        }
        do {
            return try ExporterConfiguration.resolve(file: file, flags: flags, environment: environment)
        } catch {
            if configCheck { try Self.exit(reporting: error.problems) }
            throw ValidationError(error.description)
        }
    }

    static func exit(reporting problems: [ConfigurationProblem]) throws -> Never {
        let lines = problems.map { "\($0)\n" }.joined()
        StandardStreams.err("invalid configuration:\n\(lines)")
        throw ExitCode(1)
    }

    /// The web configuration file is read by the HTTP server, which the configuration library does
    /// not know: checked here, for `--config.check` and reloads.
    static func webSecurityProblem(_ web: ExporterConfiguration.Web) -> ConfigurationProblem? {
        guard let file = web.configFile else { return nil }
        do {
            _ = try WebSecurity(file: file, logger: Logger(label: "config-check") { _ in SwiftLogNoOpLogHandler() })
            return nil
        } catch {
            return ConfigurationProblem(.flag("--web.config.file"), "\(error)")
        }
    }
}

extension ExporterConfiguration.Log {
    func logger(label: String = "spiffe-exporter") -> Logger {
        let format: ExporterLogHandler.Format
        switch self.format {
        case .logfmt: format = .logfmt
        case .json: format = .json
        }
        return Logger(label: label) { name in ExporterLogHandler(label: name, format: format, logLevel: level) }
    }
}

extension ExporterConfiguration.Web {
    var http: HTTPConfiguration {
        HTTPConfiguration(
            listenAddress: listenAddress, telemetryPath: telemetryPath, webConfigFile: configFile,
            maxRequests: maxRequests)
    }
}

/// Wires collectors and the HTTP server into one ServiceGroup.
enum ExporterRunner {
    /// The store, board, registry and agent connections of one exporter process.
    static func context(
        renewal: RenewalTracker.Configuration, identities: ExporterConfiguration.Identities, logger: Logger
    ) -> CollectorContext {
        let store = IdentityStore(renewal: renewal)
        identities.apply(to: store, now: Date())
        return CollectorContext(
            store: store, board: SourceBoard(events: store.events), registry: MetricsRegistry(),
            connections: AgentConnections(), logger: logger)
    }

    /// Runs a fixed plan (the demo).
    static func run(
        http: HTTPConfiguration,
        context: CollectorContext,
        plan: CollectorSupervisor.Plan,
        probe: ProbeEndpoint? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let supervisor = CollectorSupervisor(
            store: context.store, board: context.board, registry: context.registry, logger: logger)
        await supervisor.apply(plan)
        try await run(
            http: http, context: context, supervisor: supervisor, extraServices: [], reload: nil, probe: probe,
            logger: logger, onListening: onListening)
    }

    static func run(
        http: HTTPConfiguration,
        context: CollectorContext,
        supervisor: CollectorSupervisor,
        extraServices: [any Service],
        reload: (@Sendable () async -> String?)?,
        probe: ProbeEndpoint? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let store = context.store
        let metrics = ExporterMetrics(
            store: store, board: context.board, registry: context.registry, version: BuildVersion.version,
            revision: BuildVersion.revision, contributors: [StandardStreams.DroppedLinesContributor()],
            dynamicContributors: { supervisor.contributors })
        var loadedSecurity: WebSecurity?
        if let file = http.webConfigFile {
            do {
                loadedSecurity = try WebSecurity(
                    file: file, logger: logger,
                    spiffeIdentities: { source in
                        store.entries(source: source).map { SPIFFEServingIdentity(material: $0.material, bundles: $0.bundles) }
                    })
            } catch {
                throw ValidationError("--web.config.file: \(error)")
            }
        }
        let security = loadedSecurity
        let app = buildApplication(
            configuration: http, metrics: metrics, status: metrics, probe: probe, security: security, reload: reload,
            logger: logger
        ) {
            port in
            logger.info(
                "listening",
                metadata: [
                    "address": "\(http.listenAddress.host):\(port)", "telemetry_path": "\(http.telemetryPath)",
                    "scheme": "\(security?.scheme ?? "http")",
                ])
            await onListening(port)
        }
        // Connections start first and close last, after the collectors (the supervisor) have
        // stopped; a strict-start failure stops the group with an error.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: context.connections), .init(service: supervisor),
        ]
        for service in extraServices {
            services.append(.init(service: service, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        services.append(.init(service: app))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
