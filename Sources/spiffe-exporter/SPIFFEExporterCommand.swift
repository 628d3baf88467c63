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
}

/// Flags shared by `serve` and `demo`, in Prometheus exporter vocabulary.
struct ServerOptions: ParsableArguments {
    @Option(name: .customLong("web.listen-address"), help: "Address to listen on for /metrics (host:port or :port).")
    var listenAddress = ":9841"

    @Option(name: .customLong("web.telemetry-path"), help: "Path under which to expose metrics.")
    var telemetryPath = "/metrics"

    @Option(
        name: .customLong("web.config.file"),
        help: "Web configuration file (exporter-toolkit format: TLS, client certificates, basic auth; see docs/web-configuration.md).")
    var webConfigFile: String?

    @Option(
        name: .customLong("web.max-requests"),
        help: "Maximum number of parallel scrape requests; more are answered 503. 0 disables the limit.")
    var maxRequests = 40

    @Option(name: .customLong("collector.workload-api.timeout"), help: "Deadline for the first response of a Workload API stream.")
    var workloadAPITimeout = "10s"

    @Option(name: .customLong("log.level"), help: "Only log messages with this severity or above: debug, info, warn, error.")
    var logLevel = "info"

    @Option(name: .customLong("log.format"), help: "Log format: logfmt or json.")
    var logFormat = "logfmt"

    @Option(
        name: .customLong("renewal.deadline-fraction"),
        help: "An SVID not replaced by notBefore + lifetime x this is overdue (SPIRE renews at about 0.5).")
    var renewalDeadlineFraction = 0.75

    @Option(
        name: .customLong("renewal.identity-grace-period"),
        help: "How long renewal series of an identity that disappeared are kept.")
    var identityGracePeriod = "10m"

    func renewalConfiguration() throws -> RenewalTracker.Configuration {
        guard renewalDeadlineFraction > 0, renewalDeadlineFraction <= 1 else {
            throw ValidationError("--renewal.deadline-fraction must be in (0, 1] (got \(renewalDeadlineFraction))")
        }
        do {
            return RenewalTracker.Configuration(
                deadlineFraction: renewalDeadlineFraction,
                disappearanceGrace: try DurationText.seconds(identityGracePeriod))
        } catch {
            throw ValidationError("--renewal.identity-grace-period: \(error)")
        }
    }

    @Option(
        name: .customLong("collector.workload-api.jwt-audience"),
        help: "Fetch and check a JWT-SVID for this audience set (repeatable; comma-separate several audiences of one set).")
    var jwtAudiences: [String] = []

    @Option(name: .customLong("collector.workload-api.jwt-interval"), help: "How often to fetch each JWT-SVID.")
    var jwtInterval = "60s"

    func jwtAudienceSets() throws -> [[String]] {
        try jwtAudiences.map { value in
            let set = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !set.isEmpty else { throw ValidationError("--collector.workload-api.jwt-audience must not be empty") }
            return set
        }
    }

    func jwtFetchInterval() throws -> Duration {
        do {
            let seconds = try DurationText.seconds(jwtInterval)
            guard seconds >= 1 else { throw ValidationError("--collector.workload-api.jwt-interval must be at least 1s") }
            return .milliseconds(Int(seconds * 1000))
        } catch let error as DurationText.ParseError {
            throw ValidationError("--collector.workload-api.jwt-interval: \(error)")
        }
    }

    func makeLogger(label: String = "spiffe-exporter") throws -> Logger {
        let level: Logger.Level
        switch logLevel {
        case "debug": level = .debug
        case "info": level = .info
        case "warn", "warning": level = .warning
        case "error": level = .error
        default: throw ValidationError("--log.level must be one of debug, info, warn, error (got \"\(logLevel)\")")
        }
        guard let format = ExporterLogHandler.Format(rawValue: logFormat) else {
            throw ValidationError("--log.format must be logfmt or json (got \"\(logFormat)\")")
        }
        return Logger(label: label) { name in ExporterLogHandler(label: name, format: format, logLevel: level) }
    }

    func httpConfiguration() throws -> HTTPConfiguration {
        do {
            return HTTPConfiguration(
                listenAddress: try ListenAddress(parsing: listenAddress), telemetryPath: telemetryPath, webConfigFile: webConfigFile,
                maxRequests: max(0, maxRequests))
        } catch {
            throw ValidationError("--web.listen-address: \(error)")
        }
    }

    func firstResponseTimeout() throws -> Duration {
        do {
            return .milliseconds(Int(try DurationText.seconds(workloadAPITimeout) * 1000))
        } catch {
            throw ValidationError("--collector.workload-api.timeout: \(error)")
        }
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

    @OptionGroup var probe: ProbeOptions

    @Option(name: .customLong("config.file"), help: "YAML configuration file (docs/configuration.md); reloaded on SIGHUP and POST /-/reload.")
    var configFile: String?

    @Flag(name: .customLong("config.check"), help: "Validate the configuration (file and flags), print every problem, and exit.")
    var configCheck = false

    @Flag(name: .customLong("strict"), help: "Exit non-zero at start if a configured source is unreachable or has no valid SVID.")
    var strict = false

    func run() async throws {
        let raw = RawArguments.current
        let environment = ProcessInfo.processInfo.environment
        let file = try Self.loadConfigFile(configFile)
        let settings = try ResolvedSettings.resolve(serve: self, file: file, raw: raw, environment: environment)
        if configCheck {
            try settings.validate()
            FileHandle.standardOutput.write(Data("configuration OK\n".utf8))
            return
        }
        let logger = try settings.options.makeLogger()
        let http = try settings.options.httpConfiguration()
        let store = IdentityStore(renewal: settings.renewal)
        let context = CollectorContext(
            store: store, board: SourceBoard(events: store.events), registry: MetricsRegistry(), connections: AgentConnections(),
            logger: logger)
        let supervisor = CollectorSupervisor(store: store, board: context.board, registry: context.registry, logger: logger)
        await supervisor.apply(try settings.plan(context: context))
        let reloader = ConfigReloader(
            serve: self, raw: raw, environment: environment, current: settings, context: context, supervisor: supervisor,
            logger: logger)
        reloader.recordLoad(success: true)
        var extra: [any Service] = [SIGHUPReloadService(reloader: reloader, logger: logger)]
        if strict {
            extra.append(try StrictStartupCheck(settings: settings, store: store, board: context.board, logger: logger))
        }
        let reload: (@Sendable () async -> String?)?
        if configFile != nil {
            reload = { await reloader.reload() }
        } else {
            reload = nil
        }
        try await ExporterRunner.run(
            http: http, context: context, supervisor: supervisor, extraServices: extra, reload: reload, logger: logger)
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// Reads and validates the config file, printing every problem and exiting 1 if there are any.
    static func loadConfigFile(_ path: String?) throws -> ConfigFile? {
        guard let path else { return nil }
        do {
            return try ConfigFileParser.load(path: path)
        } catch {
            FileHandle.standardError.write(Data("invalid configuration:\n\(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The store, board, registry, agent connections and collectors of one exporter process; each
/// source kind adds itself here.
struct ExporterComponents {
    let context: CollectorContext
    var store: IdentityStore { context.store }
    var registry: MetricsRegistry { context.registry }
    var logger: Logger { context.logger }
    var services: [any Service] = []
    var contributors: [any ScrapeContributor] = []
    /// Sources registered since these components started being built (this configuration's).
    let registrationRound: Int

    init(logger: Logger, renewal: RenewalTracker.Configuration = RenewalTracker.Configuration()) {
        let store = IdentityStore(renewal: renewal)
        self.init(
            context: CollectorContext(
                store: store, board: SourceBoard(events: store.events), registry: MetricsRegistry(),
                connections: AgentConnections(), logger: logger))
    }

    init(context: CollectorContext) {
        self.context = context
        self.registrationRound = context.store.beginRegistrationRound()
    }

    var plannedSources: Set<String> { store.sources(registeredSince: registrationRound) }
    /// Probe targets of this configuration (their series go when a reload removes them).
    var probeTargets: Set<String> = []

    mutating func addWorkloadAPI(_ configuration: WorkloadAPICollectorConfiguration) {
        services.append(WorkloadAPICollector(configuration: configuration, context: context))
    }
}

/// Wires collectors and the HTTP server into one ServiceGroup.
enum ExporterRunner {
    /// Runs fixed components (the demo).
    static func run(
        http: HTTPConfiguration,
        components: ExporterComponents,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let context = components.context
        let supervisor = CollectorSupervisor(store: context.store, board: context.board, registry: context.registry, logger: logger)
        await supervisor.apply(
            CollectorSupervisor.Plan(
                services: components.services, contributors: components.contributors, sources: components.plannedSources,
                targets: components.probeTargets))
        try await run(
            http: http, context: context, supervisor: supervisor, extraServices: [], reload: nil, logger: logger,
            onListening: onListening)
    }

    static func run(
        http: HTTPConfiguration,
        context: CollectorContext,
        supervisor: CollectorSupervisor,
        extraServices: [any Service],
        reload: (@Sendable () async -> String?)?,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let store = context.store
        let metrics = ExporterMetrics(
            store: store, board: context.board, registry: context.registry, version: BuildVersion.version,
            revision: BuildVersion.revision,
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
            configuration: http, metrics: metrics, status: metrics, security: security, reload: reload, logger: logger
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
