import ArgumentParser
import Foundation
import Logging
import SPIFFEExporterCollectors
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
                listenAddress: try ListenAddress(parsing: listenAddress), telemetryPath: telemetryPath, webConfigFile: webConfigFile)
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

    @OptionGroup var certFiles: CertFilesOptions

    @OptionGroup var delegated: DelegatedOptions

    @OptionGroup var probe: ProbeOptions

    func run() async throws {
        let logger = try options.makeLogger()
        let http = try options.httpConfiguration()
        let timeout = try options.firstResponseTimeout()
        let addressText =
            workloadAPIAddress ?? ProcessInfo.processInfo.environment[WorkloadEndpointAddress.environmentVariable]
            ?? WorkloadEndpointAddress.defaultAddress
        let address: WorkloadEndpointAddress
        do {
            address = try WorkloadEndpointAddress(parsing: addressText)
        } catch {
            throw ValidationError("Workload API address \"\(addressText)\": \(error)")
        }
        var components = ExporterComponents(logger: logger, renewal: try options.renewalConfiguration())
        if workloadAPIEnabled {
            components.addWorkloadAPI(
                WorkloadAPICollectorConfiguration(
                    address: address, firstResponseTimeout: timeout, jwtAudiences: try options.jwtAudienceSets(),
                    jwtInterval: try options.jwtFetchInterval()))
        }
        try certFiles.addCollectors(to: &components)
        try delegated.addCollectors(to: &components, workloadAPIAddress: workloadAPIEnabled ? address : nil)
        try probe.addProbe(to: &components, bundleSources: try certFiles.sourceConfigurations().map(\.name))
        try await ExporterRunner.run(http: http, components: components, logger: logger)
    }
}

/// The store, registry and collectors of one exporter process; each source kind adds itself here.
struct ExporterComponents {
    let store: IdentityStore
    let registry = MetricsRegistry()
    let logger: Logger
    var services: [any Service] = []
    var contributors: [any ScrapeContributor] = []

    init(logger: Logger, renewal: RenewalTracker.Configuration = RenewalTracker.Configuration()) {
        self.logger = logger
        self.store = IdentityStore(renewal: renewal)
    }

    mutating func addWorkloadAPI(_ configuration: WorkloadAPICollectorConfiguration) {
        services.append(WorkloadAPICollector(configuration: configuration, store: store, registry: registry, logger: logger))
    }
}

/// Wires collectors and the HTTP server into one ServiceGroup.
enum ExporterRunner {
    static func run(
        http: HTTPConfiguration,
        components: ExporterComponents,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let metrics = ExporterMetrics(
            store: components.store, registry: components.registry, version: BuildVersion.version,
            revision: BuildVersion.revision, contributors: components.contributors)
        let store = components.store
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
        let app = buildApplication(configuration: http, metrics: metrics, status: metrics, security: security, logger: logger) {
            port in
            logger.info(
                "listening",
                metadata: [
                    "address": "\(http.listenAddress.host):\(port)", "telemetry_path": "\(http.telemetryPath)",
                    "scheme": "\(security?.scheme ?? "http")",
                ])
            await onListening(port)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: components.services + [app],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
