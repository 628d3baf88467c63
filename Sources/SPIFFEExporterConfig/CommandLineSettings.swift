/// The flags as given on the command line, as the executable's argument parser read them: `nil`
/// (or empty, for repeatable flags) when not given. Values stay text until resolution, so every
/// bad one is reported with its flag, together with everything else that is wrong.
public struct CommandLineSettings: Sendable, Equatable {
    public var web: Web
    public var log: Log
    public var renewal: Renewal
    public var workloadAPI: WorkloadAPI
    public var certFiles: CertFiles
    public var delegated: Delegated
    public var agentHealth: AgentHealth
    public var agent: Agent
    public var probe: Probe
    public var envoy: Envoy
    public var federation: Federation
    public var identities: Identities
    public var strict: Bool

    public init(
        web: Web = Web(), log: Log = Log(), renewal: Renewal = Renewal(), workloadAPI: WorkloadAPI = WorkloadAPI(),
        certFiles: CertFiles = CertFiles(), delegated: Delegated = Delegated(),
        agentHealth: AgentHealth = AgentHealth(), agent: Agent = Agent(),
        probe: Probe = Probe(), envoy: Envoy = Envoy(), federation: Federation = Federation(),
        identities: Identities = Identities(), strict: Bool = false
    ) {
        self.envoy = envoy
        self.federation = federation
        self.identities = identities
        self.web = web
        self.log = log
        self.renewal = renewal
        self.workloadAPI = workloadAPI
        self.certFiles = certFiles
        self.delegated = delegated
        self.agentHealth = agentHealth
        self.agent = agent
        self.probe = probe
        self.strict = strict
    }

    /// `--web.listen-address`, `--web.telemetry-path`, `--web.config.file`, `--web.max-requests`.
    public struct Web: Sendable, Equatable {
        public var listenAddress: String?
        public var telemetryPath: String?
        public var configFile: String?
        public var maxRequests: Int?

        public init(
            listenAddress: String? = nil, telemetryPath: String? = nil, configFile: String? = nil,
            maxRequests: Int? = nil
        ) {
            self.listenAddress = listenAddress
            self.telemetryPath = telemetryPath
            self.configFile = configFile
            self.maxRequests = maxRequests
        }
    }

    /// `--log.level`, `--log.format`.
    public struct Log: Sendable, Equatable {
        public var level: String?
        public var format: String?

        public init(level: String? = nil, format: String? = nil) {
            self.level = level
            self.format = format
        }
    }

    /// `--renewal.deadline-fraction`, `--renewal.identity-grace-period`.
    public struct Renewal: Sendable, Equatable {
        public var deadlineFraction: Double?
        public var identityGracePeriod: String?

        public init(deadlineFraction: Double? = nil, identityGracePeriod: String? = nil) {
            self.deadlineFraction = deadlineFraction
            self.identityGracePeriod = identityGracePeriod
        }
    }

    /// `--[no-]collector.workload-api` and `--collector.workload-api.*`. The single-valued ones
    /// speak for the first source; `extraSources` are `--collector.workload-api.source` values.
    public struct WorkloadAPI: Sendable, Equatable {
        public var enabled: Bool
        public var address: String?
        public var timeout: String?
        public var jwtAudiences: [String]
        public var jwtInterval: String?
        public var extraSources: [String]

        public init(
            enabled: Bool = true, address: String? = nil, timeout: String? = nil, jwtAudiences: [String] = [],
            jwtInterval: String? = nil, extraSources: [String] = []
        ) {
            self.enabled = enabled
            self.address = address
            self.timeout = timeout
            self.jwtAudiences = jwtAudiences
            self.jwtInterval = jwtInterval
            self.extraSources = extraSources
        }
    }

    /// `--collector.cert-files.*`.
    public struct CertFiles: Sendable, Equatable {
        public var directories: [String]
        public var globs: [String]
        /// `--collector.bundle-file NAME=TRUST_DOMAIN=PATH`, read with the cert-files settings.
        public var bundleFiles: [String]
        public var refreshInterval: String?
        public var maxFileSize: String?
        public var settleDelay: String?
        public var svidFileName: String?
        public var svidKeyFileName: String?
        public var svidBundleFileName: String?
        public var federatedBundleFileNames: [String]
        public var jwtSVIDFileNames: [String]
        public var jwtBundleFileName: String?

        public init(
            directories: [String] = [], globs: [String] = [], refreshInterval: String? = nil,
            maxFileSize: String? = nil,
            settleDelay: String? = nil, svidFileName: String? = nil, svidKeyFileName: String? = nil,
            svidBundleFileName: String? = nil, federatedBundleFileNames: [String] = [], jwtSVIDFileNames: [String] = [],
            jwtBundleFileName: String? = nil, bundleFiles: [String] = []
        ) {
            self.directories = directories
            self.globs = globs
            self.bundleFiles = bundleFiles
            self.refreshInterval = refreshInterval
            self.maxFileSize = maxFileSize
            self.settleDelay = settleDelay
            self.svidFileName = svidFileName
            self.svidKeyFileName = svidKeyFileName
            self.svidBundleFileName = svidBundleFileName
            self.federatedBundleFileNames = federatedBundleFileNames
            self.jwtSVIDFileNames = jwtSVIDFileNames
            self.jwtBundleFileName = jwtBundleFileName
        }
    }

    /// `--collector.delegated.*`.
    public struct Delegated: Sendable, Equatable {
        public var address: String?
        public var subscriptions: [String]
        public var processes: [String]
        public var processRescanInterval: String?
        public var timeout: String?

        public init(
            address: String? = nil, subscriptions: [String] = [], processes: [String] = [],
            processRescanInterval: String? = nil, timeout: String? = nil
        ) {
            self.address = address
            self.subscriptions = subscriptions
            self.processes = processes
            self.processRescanInterval = processRescanInterval
            self.timeout = timeout
        }
    }

    /// `--[no-]collector.agent-health`, `--collector.agent-health.*`.
    public struct AgentHealth: Sendable, Equatable {
        public var enabled: Bool?
        public var interval: String?
        public var timeout: String?

        public init(enabled: Bool? = nil, interval: String? = nil, timeout: String? = nil) {
            self.enabled = enabled
            self.interval = interval
            self.timeout = timeout
        }
    }

    /// `--[no-]collector.agent`, `--collector.agent.*`: the SPIRE agent's own state.
    public struct Agent: Sendable, Equatable {
        public var enabled: Bool?
        /// `[NAME=]unix:///path`.
        public var adminAddress: String?
        /// `[NAME=]PATH`.
        public var dataFile: String?
        public var interval: String?
        public var timeout: String?

        public init(
            enabled: Bool? = nil, adminAddress: String? = nil, dataFile: String? = nil, interval: String? = nil,
            timeout: String? = nil
        ) {
            self.enabled = enabled
            self.adminAddress = adminAddress
            self.dataFile = dataFile
            self.interval = interval
            self.timeout = timeout
        }
    }

    /// `--probe.*`.
    public struct Probe: Sendable, Equatable {
        public var targets: [String]
        public var interval: String?
        public var timeout: String?
        /// `--probe.allowed-target` (repeatable): the `/probe` allow-list.
        public var allowedTargets: [String]
        /// `--probe.max-concurrent`.
        public var maxConcurrent: Int?

        public init(
            targets: [String] = [], interval: String? = nil, timeout: String? = nil, allowedTargets: [String] = [],
            maxConcurrent: Int? = nil
        ) {
            self.targets = targets
            self.interval = interval
            self.timeout = timeout
            self.allowedTargets = allowedTargets
            self.maxConcurrent = maxConcurrent
        }
    }

    /// `--collector.envoy.*`.
    public struct Envoy: Sendable, Equatable {
        /// `NAME=http://HOST:PORT`, repeatable.
        public var admins: [String]
        public var interval: String?
        public var timeout: String?

        public init(admins: [String] = [], interval: String? = nil, timeout: String? = nil) {
            self.admins = admins
            self.interval = interval
            self.timeout = timeout
        }
    }

    /// `--collector.federation.endpoint` (repeatable), `--collector.federation.interval`.
    public struct Federation: Sendable, Equatable {
        /// `NAME=TRUST_DOMAIN=URL[,option=value...]` each.
        public var endpoints: [String]
        public var interval: String?

        public init(endpoints: [String] = [], interval: String? = nil) {
            self.endpoints = endpoints
            self.interval = interval
        }
    }

    /// `--expect.identity`, `--label.from-spiffe-id`, `--clock.issuer-backdate`.
    public struct Identities: Sendable, Equatable {
        public var expected: [String]
        public var spiffeIDLabels: [String]
        public var issuerBackdate: String?

        public init(expected: [String] = [], spiffeIDLabels: [String] = [], issuerBackdate: String? = nil) {
            self.expected = expected
            self.spiffeIDLabels = spiffeIDLabels
            self.issuerBackdate = issuerBackdate
        }
    }
}
