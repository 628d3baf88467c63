import Logging
import SPIFFEExporterCore

/// The exporter's whole configuration, typed and checked: what ``resolve(file:flags:environment:)``
/// makes of the defaults, the config file, the environment and the flags. Two configurations are
/// equal when they configure the same thing, wherever each value was written.
public struct ExporterConfiguration: Equatable, Sendable {
    public var web = Web()
    public var log = Log()
    public var renewal = Renewal()
    public var collectors = Collectors()
    public var identities = Identities()
    /// `/probe`: modules, allow-list, concurrency. Applied on reload without restarting collectors.
    public var probeEndpoint = ProbeEndpointSettings()
    /// `--strict`: fail the start when a source does not sync with valid SVIDs.
    public var strict = false

    /// Nothing but defaults, and no collector: resolving empty inputs adds the default Workload API
    /// source; this does not.
    public init() {}

    public static let defaultWorkloadAPISourceName = "workload_api"
    public static let minimumJWTInterval: Duration = .seconds(1)

    /// Reads the config file at `path` (if any) and resolves it with the flags and the environment.
    /// A file with problems is reported alone: cross-checking what could not be read only adds noise.
    public static func load(
        configFile path: String?, flags: CommandLineSettings, environment: [String: String]
    ) throws(ConfigurationProblems) -> ExporterConfiguration {
        let file = try path.map { path throws(ConfigurationProblems) in try ConfigFileParser.load(path: path) }
        return try resolve(file: file, flags: flags, environment: environment)
    }

    /// `--web.*`: the HTTP server.
    public struct Web: Equatable, Sendable {
        public var listenAddress = ListenAddress(host: "0.0.0.0", port: 9841)
        public var telemetryPath = "/metrics"
        /// exporter-toolkit web configuration (TLS, basic auth).
        public var configFile: String?
        /// Parallel scrapes before 503; 0 disables the limit.
        public var maxRequests = 40

        public init() {}
    }

    /// `--log.*`.
    public struct Log: Equatable, Sendable {
        public enum Format: String, Sendable, CaseIterable {
            case logfmt, json
        }

        public var level: Logger.Level = .info
        public var format: Format = .logfmt

        public init() {}

        static func level(_ text: String) throws(InvalidValue) -> Logger.Level {
            switch text {
            case "debug": .debug
            case "info": .info
            case "warn", "warning": .warning
            case "error": .error
            default: throw InvalidValue("must be debug, info, warn or error (got \"\(text)\")")
            }
        }

        static func format(_ text: String) throws(InvalidValue) -> Format {
            guard let format = Format(rawValue: text) else {
                throw InvalidValue("must be logfmt or json (got \"\(text)\")")
            }
            return format
        }
    }

    /// `--renewal.*`: when an SVID counts as overdue, how long vanished identities are kept.
    public struct Renewal: Equatable, Sendable {
        public var deadlineFraction = 0.75
        public var identityGracePeriod: Duration = .seconds(600)

        public init() {}

        public var tracker: RenewalTracker.Configuration {
            RenewalTracker.Configuration(
                deadlineFraction: deadlineFraction, disappearanceGrace: identityGracePeriod.seconds)
        }

        static func deadlineFraction(_ value: Double) throws(InvalidValue) -> Double {
            guard value > 0, value <= 1 else { throw InvalidValue("must be in (0, 1] (got \(value))") }
            return value
        }
    }

    /// What decides which collectors run: a reload restarts them only when this changes.
    public struct Collectors: Equatable, Sendable {
        /// Empty with `--no-collector.workload-api`.
        public var workloadAPI: [WorkloadAPISource] = []
        public var certFiles: [CertFilesSourceConfiguration] = []
        /// `nil` when no delegated address or subscription is configured.
        public var delegated: Delegated?
        /// Applies to every Workload API source's agent.
        public var agentHealth = AgentHealth()
        /// The SPIRE agent's own SVID and server sync; `nil` without an admin socket or data file.
        public var agent: Agent?
        /// Runs when it has targets; `clientSource` is the first Workload API source.
        public var probe = ProbeConfiguration(targets: [])
        /// Envoy admin endpoints read for `/certs`; none by default.
        public var envoy = Envoy()
        /// One collector per federation bundle endpoint.
        public var federation = Federation()

        public init() {}
    }

    /// Federation bundle endpoints and the interval that replaces their refresh hints.
    public struct Federation: Equatable, Sendable {
        public var endpoints: [FederationEndpointConfiguration]
        /// `--collector.federation.interval`; `nil`: each bundle's `spiffe_refresh_hint`.
        public var interval: Duration?

        public init(endpoints: [FederationEndpointConfiguration] = [], interval: Duration? = nil) {
            self.endpoints = endpoints
            self.interval = interval
        }
    }

    /// One Workload API endpoint.
    public struct WorkloadAPISource: Equatable, Sendable {
        public static let defaultTimeout: Duration = .seconds(10)
        public static let defaultJWTInterval: Duration = .seconds(60)

        /// The `source` label.
        public var name: String
        public var address: WorkloadEndpointAddress
        /// Deadline for the first response of a stream.
        public var timeout: Duration
        /// Audience sets to fetch JWT-SVIDs for, each sorted and without repeats.
        public var jwtAudiences: [[String]]
        public var jwtInterval: Duration

        public init(
            name: String = ExporterConfiguration.defaultWorkloadAPISourceName, address: WorkloadEndpointAddress,
            timeout: Duration = Self.defaultTimeout, jwtAudiences: [[String]] = [],
            jwtInterval: Duration = Self.defaultJWTInterval
        ) {
            self.name = name
            self.address = address
            self.timeout = timeout
            // The agent answers per set: order and repeats within one carry no meaning.
            self.jwtAudiences = jwtAudiences.map { Array(Set($0)).sorted() }.filter { !$0.isEmpty }
            self.jwtInterval = jwtInterval
        }
    }

    /// The Delegated Identity API collector.
    public struct Delegated: Equatable, Sendable {
        public static let defaultTimeout: Duration = .seconds(10)
        /// Taken by other streams: the Workload API's default source and the delegated bundle stream.
        public static let reservedSourceNames: Set<String> = [
            ExporterConfiguration.defaultWorkloadAPISourceName, "delegated",
        ]

        public var subscriptions: DelegatedConfiguration
        /// Deadline for the first response of a stream.
        public var timeout: Duration

        public init(subscriptions: DelegatedConfiguration, timeout: Duration = Self.defaultTimeout) {
            self.subscriptions = subscriptions
            self.timeout = timeout
        }
    }

    /// `grpc.health.v1.Health/Check` of each Workload API source's agent.
    public struct AgentHealth: Equatable, Sendable {
        public static let minimumInterval: Duration = .seconds(1)

        public var enabled = true
        public var interval: Duration = .seconds(15)
        public var timeout: Duration = .seconds(5)

        public init() {}
    }

    /// The SPIRE agent collector: Debug API GetInfo on the admin socket and/or the data file.
    public struct Agent: Equatable, Sendable {
        public static let defaultName = "agent"
        public static let defaultInterval: Duration = .seconds(30)
        /// The agent caches GetInfo's answer for 5 s: asking more often only repeats it.
        public static let minimumInterval: Duration = .seconds(5)
        public static let defaultTimeout: Duration = .seconds(5)

        /// The `source` label.
        public var name: String
        public var adminAddress: WorkloadEndpointAddress?
        public var dataFile: String?
        public var interval: Duration
        public var timeout: Duration

        public init(
            name: String = Self.defaultName, adminAddress: WorkloadEndpointAddress?, dataFile: String?,
            interval: Duration = Self.defaultInterval, timeout: Duration = Self.defaultTimeout
        ) {
            self.name = name
            self.adminAddress = adminAddress
            self.dataFile = dataFile
            self.interval = interval
            self.timeout = timeout
        }
    }

    /// Envoy admin endpoints (`--collector.envoy.admin NAME=URL`, config `envoy:`), each read for
    /// `GET /certs` every interval.
    public struct Envoy: Equatable, Sendable {
        public static let defaultInterval: Duration = .seconds(30)
        public static let minimumInterval: Duration = .seconds(1)
        public static let defaultTimeout: Duration = .seconds(5)

        /// One admin endpoint; `name` is the `source` label.
        public struct Admin: Equatable, Sendable {
            public var name: String
            public var endpoint: EnvoyAdminEndpoint

            public init(name: String, endpoint: EnvoyAdminEndpoint) {
                self.name = name
                self.endpoint = endpoint
            }
        }

        public var admins: [Admin]
        public var interval: Duration
        /// Deadline of one read, at most the interval.
        public var timeout: Duration

        public init(admins: [Admin] = [], interval: Duration = Self.defaultInterval, timeout: Duration = Self.defaultTimeout) {
            self.admins = admins
            self.interval = interval
            self.timeout = timeout
        }

        /// `NAME=http://HOST:PORT[/PREFIX]`, the flag's value.
        static func admin(parsing text: String) throws(InvalidValue) -> Admin {
            guard let equals = text.firstIndex(of: "="), SourceName.isValid(String(text[..<equals])) else {
                throw InvalidValue(
                    "expected NAME=http://HOST:PORT with a name of letters, digits, '_', '-', '.', got \"\(text)\"")
            }
            do {
                return Admin(
                    name: String(text[..<equals]), endpoint: try EnvoyAdminEndpoint(parsing: String(text[text.index(after: equals)...])))
            } catch {
                throw InvalidValue("\(error)")
            }
        }
    }

    /// How identities are shown: which must exist, the labels derived from their SPIFFE IDs, and
    /// the issuer's backdate for the clock skew estimate. A reload applies them without restarting
    /// a collector.
    public struct Identities: Equatable, Sendable {
        public static let defaultIssuerBackdate: Duration = .seconds(10)

        public var expected: [ExpectedIdentity] = []
        public var spiffeIDLabels: SPIFFEIDLabels = .none
        public var issuerBackdate: Duration = Self.defaultIssuerBackdate

        public init() {}
    }

    /// Source names a certificate-file source may not take.
    public static let reservedCertFilesSourceNames: Set<String> = [defaultWorkloadAPISourceName]

    /// "must be at least 1s (got 500ms)".
    static func tooShort(_ minimum: Duration, _ given: String) -> String {
        let seconds = minimum.components.seconds
        let text = minimum == .seconds(seconds) ? "\(seconds)s" : "\(minimum.seconds)s"
        return "must be at least \(text) (got \(given))"
    }
}

/// A value that breaks its setting's rule; the message says which, without naming the setting.
struct InvalidValue: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
