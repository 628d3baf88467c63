import Foundation
import Logging
import SPIFFEExporterCore
import Yams

/// Everything a config file says (docs/configuration.md), decoded and checked value by value, each
/// value with its line. `nil` and empty mean "not in the file". Rules that need the command line
/// too (which source is first, names across kinds, the probe timeout against its interval) are
/// checked when the configuration is resolved.
public struct ConfigFile: Sendable, Equatable {
    public var web = Web()
    public var log = Log()
    public var renewal = Renewal()
    /// `nil` when the file has no `workload_api` key (the command line decides).
    public var workloadAPI: [WorkloadAPISource]?
    public var certFiles = CertFiles()
    public var delegated = Delegated()
    public var agentHealth = AgentHealth()
    public var agent = Agent()
    public var probes = Probes()
    /// `probe:` and `probe_modules:`, the `/probe` endpoint.
    public var probeEndpoint = ProbeEndpoint()
    public var envoy = Envoy()
    public var federation = Federation()
    /// `expected_identities`, each located at its entry.
    public var expectedIdentities: [Located<ExpectedIdentity>] = []
    /// `spiffe_id_labels`, each located at its entry.
    public var spiffeIDLabels: [Located<SPIFFEIDLabels.Label>] = []
    /// `clock.issuer_backdate`.
    public var issuerBackdate: Located<Duration>?

    public init() {}

    public struct Web: Sendable, Equatable {
        public var listenAddress: Located<ListenAddress>?
        public var telemetryPath: Located<String>?
        public var configFile: Located<String>?
        public var maxRequests: Located<Int>?

        public init() {}
    }

    public struct Log: Sendable, Equatable {
        public var level: Located<Logger.Level>?
        public var format: Located<ExporterConfiguration.Log.Format>?

        public init() {}
    }

    public struct Renewal: Sendable, Equatable {
        public var deadlineFraction: Located<Double>?
        public var identityGracePeriod: Located<Duration>?

        public init() {}
    }

    /// One `workload_api` entry; its origin (the entry) is the name's.
    public struct WorkloadAPISource: Sendable, Equatable {
        public var name: Located<String>
        public var address: Located<WorkloadEndpointAddress>?
        public var timeout: Located<Duration>?
        public var jwtAudiences: [[String]] = []
        public var jwtInterval: Located<Duration>?

        public init(name: Located<String>) {
            self.name = name
        }
    }

    public struct CertFiles: Sendable, Equatable {
        /// `.directory` entries.
        public var directories: [Located<CertFilesEntry>] = []
        /// `.glob` entries.
        public var globs: [Located<CertFilesEntry>] = []
        /// `.bundleFile` entries (`bundle_files`).
        public var bundleFiles: [Located<CertFilesEntry>] = []
        public var refreshInterval: Located<Duration>?
        public var maxFileSize: Located<Int>?
        public var settleDelay: Located<Duration>?
        public var svidFileName: Located<String>?
        public var svidKeyFileName: Located<String>?
        public var svidBundleFileName: Located<String>?
        public var federatedBundleFiles: [Located<FederatedBundleFile>] = []
        public var jwtSVIDFileNames: [Located<String>] = []
        public var jwtBundleFileName: Located<String>?

        public init() {}
    }

    public struct Delegated: Sendable, Equatable {
        public var address: Located<WorkloadEndpointAddress>?
        /// Subscriptions by selectors (`subscriptions`).
        public var subscriptions: [Located<DelegatedSubscription>] = []
        /// Subscriptions by process name (`processes`).
        public var processes: [Located<DelegatedSubscription>] = []
        public var processRescanInterval: Located<Duration>?
        public var timeout: Located<Duration>?

        public init() {}
    }

    public struct AgentHealth: Sendable, Equatable {
        public var enabled: Located<Bool>?
        public var interval: Located<Duration>?
        public var timeout: Located<Duration>?

        public init() {}
    }

    public struct Agent: Sendable, Equatable {
        public var enabled: Located<Bool>?
        public var name: Located<String>?
        public var adminAddress: Located<WorkloadEndpointAddress>?
        public var dataFile: Located<String>?
        public var interval: Located<Duration>?
        public var timeout: Located<Duration>?

        public init() {}
    }

    public struct Envoy: Sendable, Equatable {
        public var interval: Located<Duration>?
        public var timeout: Located<Duration>?
        public var admins: [Located<ExporterConfiguration.Envoy.Admin>] = []

        public init() {}
    }

    public struct Probes: Sendable, Equatable {
        public var interval: Located<Duration>?
        public var timeout: Located<Duration>?
        public var targets: [Located<ProbeTarget>] = []

        public init() {}
    }

    public struct ProbeEndpoint: Sendable, Equatable {
        /// `probe.allowed_targets`.
        public var allowedTargets: [Located<String>] = []
        /// `probe.max_concurrent`.
        public var maxConcurrent: Located<Int>?
        /// `probe_modules:` by name.
        public var modules: [String: Located<ProbeModule>] = [:]

        public init() {}
    }

    /// `federation:` — a list of endpoints, or a mapping with `interval` and `endpoints`.
    public struct Federation: Sendable, Equatable {
        public var interval: Located<Duration>?
        public var endpoints: [Located<FederationEndpointConfiguration>] = []

        public init() {}
    }
}

/// Parses and checks the YAML config file, collecting every problem.
public enum ConfigFileParser {
    public static func parse(_ text: String, file: String) throws(ConfigurationProblems) -> ConfigFile {
        var reader = Reader(file: file)
        let config = reader.read(text)
        if !reader.problems.isEmpty { throw ConfigurationProblems(reader.problems) }
        return config
    }

    public static func load(path: String) throws(ConfigurationProblems) -> ConfigFile {
        let whole = Origin.file(path: path, line: nil, key: "")
        let data: Data
        do {
            data = try Self.read(path)
        } catch {
            throw ConfigurationProblems([ConfigurationProblem(whole, "cannot read the file: \(error.reason)")])
        }
        guard data.count <= 4 << 20 else {
            throw ConfigurationProblems([ConfigurationProblem(whole, "file is larger than 4 MiB")])
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }
}

extension ConfigFileParser {
    struct ReadError: Error {
        var reason: String
    }

    /// The file's bytes, or why not in an operator's words (not found, permission denied, …).
    static func read(_ path: String) throws(ReadError) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReadError(reason: "not found")
        }
        if isDirectory.boolValue { throw ReadError(reason: "is a directory") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw ReadError(reason: "permission denied") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as CocoaError where error.code == .fileReadNoPermission {
            throw ReadError(reason: "permission denied")
        } catch {
            throw ReadError(reason: "\(error.localizedDescription)")
        }
    }
}

/// Walks YAML nodes, recording a located problem for every mistake instead of stopping at the first.
struct Reader {
    let file: String
    var problems: [ConfigurationProblem] = []

    init(file: String) {
        self.file = file
    }

    mutating func read(_ text: String) -> ConfigFile {
        var config = ConfigFile()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            // Typos must not silently do nothing, nor may a second value silently win.
            let keys = duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            problems.append(
                ConfigurationProblem(
                    .file(path: file, line: context.mark.line, key: ""),
                    "repeated key \(keys) in the mapping starting here"))
            return config
        } catch {
            problems.append(
                ConfigurationProblem(.file(path: file, line: Self.line(of: error), key: ""), "invalid YAML: \(error)"))
            return config
        }
        guard let root else { return config }  // an empty file configures nothing
        guard
            let top = mapping(
                root, at: "",
                allowed: [
                    "web", "log", "renewal", "workload_api", "cert_files", "delegated", "agent_health", "agent", "probes",
                    "probe", "probe_modules", "envoy", "federation", "expected_identities", "spiffe_id_labels", "clock",
                ])
        else { return config }
        if let node = top["web"] { config.web = web(node) }
        if let node = top["log"] { config.log = log(node) }
        if let node = top["renewal"] { config.renewal = renewal(node) }
        if let node = top["workload_api"] { config.workloadAPI = workloadAPISources(node) }
        if let node = top["cert_files"] { config.certFiles = certFiles(node) }
        if let node = top["delegated"] { config.delegated = delegated(node) }
        if let node = top["agent_health"] { config.agentHealth = agentHealth(node) }
        if let node = top["agent"] { config.agent = agent(node) }
        if let node = top["probes"] { config.probes = probes(node) }
        if let node = top["probe"] { probeEndpoint(node, into: &config.probeEndpoint) }
        if let node = top["probe_modules"] { config.probeEndpoint.modules = probeModules(node) }
        if let node = top["envoy"] { config.envoy = envoy(node) }
        if let node = top["federation"] { config.federation = federation(node) }
        if let node = top["expected_identities"] { config.expectedIdentities = expectedIdentities(node) }
        if let node = top["spiffe_id_labels"] { config.spiffeIDLabels = spiffeIDLabels(node) }
        if let node = top["clock"], let fields = mapping(node, at: "clock", allowed: ["issuer_backdate"]) {
            config.issuerBackdate = duration(fields["issuer_backdate"], at: "clock.issuer_backdate")
        }
        return config
    }

    static func line(of error: any Error) -> Int? {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
                return mark.line
            default: return nil
            }
        }
        return nil
    }

    func origin(_ node: Node, _ key: String) -> Origin {
        .file(path: file, line: node.mark?.line, key: key)
    }

    mutating func problem(_ node: Node, _ key: String, _ message: String) {
        problems.append(ConfigurationProblem(origin(node, key), message))
    }

    /// `body`'s result located at `node`, or nil with its error recorded.
    mutating func convert<Value>(_ node: Node, _ key: String, _ body: () throws -> Value) -> Located<Value>? {
        do {
            return Located(try body(), origin(node, key))
        } catch {
            problem(node, key, "\(error)")
            return nil
        }
    }

    // MARK: Shapes

    /// A mapping with only the allowed keys; unknown keys are problems (typos must not silently do
    /// nothing). Yams has already refused repeated keys.
    mutating func mapping(_ node: Node, at key: String, allowed: Set<String>) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            problem(node, key, key.isEmpty ? "the file must be a mapping" : "must be a mapping")
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let name = keyNode.string else {
                problem(keyNode, key, "keys must be strings")
                continue
            }
            if !allowed.contains(name) {
                problem(keyNode, key, "unknown key \"\(name)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            result[name] = value
        }
        return result
    }

    mutating func sequence(_ node: Node, at key: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            problem(node, key, "must be a list")
            return nil
        }
        return Array(sequence)
    }

    mutating func string(_ node: Node, at key: String) -> String? {
        guard case .scalar(let scalar) = node else {
            problem(node, key, "must be a string")
            return nil
        }
        return scalar.string
    }

    mutating func located(_ node: Node?, at key: String) -> Located<String>? {
        guard let node, let text = string(node, at: key) else { return nil }
        return Located(text, origin(node, key))
    }

    mutating func double(_ node: Node, at key: String) -> Double? {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string) else {
            problem(node, key, "must be a number")
            return nil
        }
        return value
    }

    mutating func duration(_ node: Node?, at key: String, atLeast minimum: Duration? = nil) -> Located<Duration>? {
        guard let node, let text = string(node, at: key) else { return nil }
        guard let duration = convert(node, key, { try DurationText.duration(text) }) else { return nil }
        if let minimum, duration.value < minimum {
            problem(node, key, ExporterConfiguration.tooShort(minimum, text))
            return nil
        }
        return duration
    }

    mutating func stringList(_ node: Node, at key: String) -> [Located<String>]? {
        if case .scalar(let scalar) = node { return [Located(scalar.string, origin(node, key))] }
        guard let items = sequence(node, at: key) else { return nil }
        return items.compactMap { located($0, at: key + "[]") }
    }

    mutating func address(_ node: Node?, at key: String) -> Located<WorkloadEndpointAddress>? {
        guard let node, let text = string(node, at: key) else { return nil }
        return convert(node, key) { try WorkloadEndpointAddress(explaining: text) }
    }

    mutating func sourceName(_ node: Node, at key: String, seen: inout Set<String>) -> Located<String>? {
        guard let name = string(node, at: key) else { return nil }
        if !SourceName.isValid(name) { problem(node, key, "source names use letters, digits, '_', '-' and '.' only (got \"\(name)\")") }
        if !seen.insert(name).inserted { problem(node, key, "source name \"\(name)\" is used twice") }
        return Located(name, origin(node, key))
    }

    /// The entries `{name: NAME, <valueKey>: VALUE, <optional keys>}` of the list at `list`, each with
    /// its key, its name (checked, unique within `seen`), its value node and all its fields. An
    /// entry without name or value is reported and skipped.
    mutating func namedEntries(
        _ node: Node?, at list: String, valueKey: String, optional: Set<String> = [], seen: inout Set<String>
    ) -> [(key: String, name: Located<String>, value: Node, fields: [String: Node])] {
        var entries: [(key: String, name: Located<String>, value: Node, fields: [String: Node])] = []
        for (index, item) in (node.flatMap { sequence($0, at: list) } ?? []).enumerated() {
            let key = "\(list)[\(index)]"
            guard let entry = mapping(item, at: key, allowed: optional.union(["name", valueKey])) else { continue }
            guard let nameNode = entry["name"], let valueNode = entry[valueKey] else {
                problem(item, key, "needs name and \(valueKey)")
                continue
            }
            guard let name = sourceName(nameNode, at: key + ".name", seen: &seen) else { continue }
            entries.append((key, name, valueNode, entry))
        }
        return entries
    }

    // MARK: Sections

    mutating func web(_ node: Node) -> ConfigFile.Web {
        var web = ConfigFile.Web()
        guard
            let fields = mapping(
                node, at: "web", allowed: ["listen_address", "telemetry_path", "config_file", "max_requests"])
        else { return web }
        if let node = fields["listen_address"], let text = string(node, at: "web.listen_address") {
            web.listenAddress = convert(node, "web.listen_address") { try ListenAddress(parsing: text) }
        }
        web.telemetryPath = located(fields["telemetry_path"], at: "web.telemetry_path")
        if let path = web.telemetryPath, !path.value.hasPrefix("/"), let node = fields["telemetry_path"] {
            problem(node, "web.telemetry_path", "must start with /")
        }
        web.configFile = located(fields["config_file"], at: "web.config_file")
        if let node = fields["max_requests"], let value = double(node, at: "web.max_requests") {
            if value >= 0, value == value.rounded(), value <= 1_000_000 {
                web.maxRequests = Located(Int(value), origin(node, "web.max_requests"))
            } else {
                problem(node, "web.max_requests", "must be a whole number ≥ 0 (0 disables the limit)")
            }
        }
        return web
    }

    mutating func log(_ node: Node) -> ConfigFile.Log {
        var log = ConfigFile.Log()
        guard let fields = mapping(node, at: "log", allowed: ["level", "format"]) else { return log }
        if let node = fields["level"], let text = string(node, at: "log.level") {
            log.level = convert(node, "log.level") { try ExporterConfiguration.Log.level(text) }
        }
        if let node = fields["format"], let text = string(node, at: "log.format") {
            log.format = convert(node, "log.format") { try ExporterConfiguration.Log.format(text) }
        }
        return log
    }

    mutating func renewal(_ node: Node) -> ConfigFile.Renewal {
        var renewal = ConfigFile.Renewal()
        guard let fields = mapping(node, at: "renewal", allowed: ["deadline_fraction", "identity_grace_period"]) else {
            return renewal
        }
        if let node = fields["deadline_fraction"], let fraction = double(node, at: "renewal.deadline_fraction") {
            renewal.deadlineFraction = convert(node, "renewal.deadline_fraction") {
                try ExporterConfiguration.Renewal.deadlineFraction(fraction)
            }
        }
        renewal.identityGracePeriod = duration(fields["identity_grace_period"], at: "renewal.identity_grace_period")
        return renewal
    }

    mutating func workloadAPISources(_ node: Node) -> [ConfigFile.WorkloadAPISource] {
        guard let items = sequence(node, at: "workload_api") else { return [] }
        var seen: Set<String> = []
        var result: [ConfigFile.WorkloadAPISource] = []
        for (index, item) in items.enumerated() {
            let key = "workload_api[\(index)]"
            guard
                let fields = mapping(
                    item, at: key, allowed: ["name", "address", "timeout", "jwt_audiences", "jwt_interval"])
            else { continue }
            var name = Located("", origin(item, key))
            if let nameNode = fields["name"] {
                name = sourceName(nameNode, at: key + ".name", seen: &seen) ?? name
            } else if index == 0 {
                name.value = ExporterConfiguration.defaultWorkloadAPISourceName
                seen.insert(name.value)
            } else {
                problem(item, key, "name is required when several Workload API sources are configured")
            }
            var source = ConfigFile.WorkloadAPISource(name: name)
            source.address = address(fields["address"], at: key + ".address")
            source.timeout = duration(fields["timeout"], at: key + ".timeout")
            source.jwtInterval = duration(
                fields["jwt_interval"], at: key + ".jwt_interval", atLeast: ExporterConfiguration.minimumJWTInterval)
            if let audiencesNode = fields["jwt_audiences"],
                let sets = sequence(audiencesNode, at: key + ".jwt_audiences")
            {
                // Each entry is one audience set: a string ("a" or "a,b") or a list of strings.
                source.jwtAudiences = sets.compactMap { entry -> [String]? in
                    let values: [String]?
                    if case .scalar(let scalar) = entry {
                        values = scalar.string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    } else {
                        values = stringList(entry, at: key + ".jwt_audiences[]")?.map(\.value)
                    }
                    guard let values, !values.isEmpty, values.allSatisfy({ !$0.isEmpty }) else {
                        problem(entry, key + ".jwt_audiences", "an audience set must not be empty")
                        return nil
                    }
                    return values
                }
            }
            result.append(source)
        }
        return result
    }

    mutating func certFiles(_ node: Node) -> ConfigFile.CertFiles {
        var certFiles = ConfigFile.CertFiles()
        guard
            let fields = mapping(
                node, at: "cert_files",
                allowed: [
                    "directories", "globs", "bundle_files", "refresh_interval", "max_file_size", "settle_delay", "svid_file_name",
                    "svid_key_file_name", "svid_bundle_file_name", "federated_bundle_file_names", "jwt_svid_file_names",
                    "jwt_bundle_file_name",
                ])
        else { return certFiles }
        var seen: Set<String> = []
        for entry in namedEntries(fields["directories"], at: "cert_files.directories", valueKey: "path", seen: &seen) {
            if let path = string(entry.value, at: entry.key + ".path") {
                certFiles.directories.append(Located(.directory(name: entry.name.value, path: path), entry.name.origin))
            }
        }
        for entry in namedEntries(
            fields["bundle_files"], at: "cert_files.bundle_files", valueKey: "path", optional: ["trust_domain"], seen: &seen)
        {
            guard let path = string(entry.value, at: entry.key + ".path") else { continue }
            guard let domainNode = entry.fields["trust_domain"], let domain = string(domainNode, at: entry.key + ".trust_domain")
            else {
                problem(entry.value, entry.key, "needs a trust_domain")
                continue
            }
            guard CertFilesFlags.isValidTrustDomain(domain) else {
                problem(domainNode, entry.key + ".trust_domain", "invalid trust domain \"\(domain)\" (a name like example.org)")
                continue
            }
            certFiles.bundleFiles.append(
                Located(.bundleFile(name: entry.name.value, trustDomain: domain, path: path), entry.name.origin))
        }
        for (index, item) in (fields["globs"].flatMap { sequence($0, at: "cert_files.globs") } ?? []).enumerated() {
            let key = "cert_files.globs[\(index)]"
            guard let entry = mapping(item, at: key, allowed: ["name", "pattern"]) else { continue }
            guard let patternNode = entry["pattern"], let pattern = string(patternNode, at: key + ".pattern") else {
                problem(item, key, "needs a pattern")
                continue
            }
            // Globs with the same name form one source: names are checked, not required to be unique.
            var unchecked: Set<String> = []
            let name = entry["name"].flatMap { sourceName($0, at: key + ".name", seen: &unchecked) }
            do {
                _ = try GlobPattern(pattern)
            } catch {
                problem(
                    patternNode, key + ".pattern", "\(CertFilesConfigurationError.invalidGlob(pattern, "\(error)"))")
                continue
            }
            certFiles.globs.append(
                Located(
                    .glob(name: name?.value ?? CertFilesSourceConfiguration.defaultGlobSourceName, pattern: pattern),
                    name?.origin ?? origin(item, key)))
        }
        certFiles.refreshInterval = duration(
            fields["refresh_interval"], at: "cert_files.refresh_interval",
            atLeast: CertFilesSourceConfiguration.minimumRefreshInterval)
        certFiles.settleDelay = duration(fields["settle_delay"], at: "cert_files.settle_delay")
        if let node = fields["max_file_size"], let text = string(node, at: "cert_files.max_file_size") {
            certFiles.maxFileSize = convert(node, "cert_files.max_file_size") { try CertFilesFlags.parseByteSize(text) }
        }
        certFiles.svidFileName = located(fields["svid_file_name"], at: "cert_files.svid_file_name")
        certFiles.svidKeyFileName = located(fields["svid_key_file_name"], at: "cert_files.svid_key_file_name")
        certFiles.svidBundleFileName = located(fields["svid_bundle_file_name"], at: "cert_files.svid_bundle_file_name")
        certFiles.jwtBundleFileName = located(fields["jwt_bundle_file_name"], at: "cert_files.jwt_bundle_file_name")
        let federatedKey = "cert_files.federated_bundle_file_names"
        for name in fields["federated_bundle_file_names"].flatMap({ stringList($0, at: federatedKey) }) ?? [] {
            do {
                certFiles.federatedBundleFiles.append(
                    Located(try CertFilesFlags.parseFederatedBundle(name.value), name.origin))
            } catch {
                problems.append(ConfigurationProblem(name.origin, "\(error)"))
            }
        }
        certFiles.jwtSVIDFileNames =
            fields["jwt_svid_file_names"].flatMap { stringList($0, at: "cert_files.jwt_svid_file_names") } ?? []
        return certFiles
    }

    mutating func delegated(_ node: Node) -> ConfigFile.Delegated {
        var delegated = ConfigFile.Delegated()
        guard
            let fields = mapping(
                node, at: "delegated",
                allowed: ["address", "subscriptions", "processes", "process_rescan_interval", "timeout"])
        else { return delegated }
        delegated.address = address(fields["address"], at: "delegated.address")
        delegated.processRescanInterval = duration(
            fields["process_rescan_interval"], at: "delegated.process_rescan_interval",
            atLeast: DelegatedConfiguration.minimumProcessRescanInterval)
        delegated.timeout = duration(fields["timeout"], at: "delegated.timeout")
        var seen: Set<String> = []
        for entry in namedEntries(
            fields["subscriptions"], at: "delegated.subscriptions", valueKey: "selectors", seen: &seen)
        {
            guard let texts = stringList(entry.value, at: entry.key + ".selectors") else { continue }
            let selectors = texts.compactMap { try? DelegatedSelector(parsing: $0.value) }
            guard !selectors.isEmpty, selectors.count == texts.count else {
                problem(entry.value, entry.key + ".selectors", "must be type:value selectors, e.g. k8s:ns:payments")
                continue
            }
            delegated.subscriptions.append(
                Located(
                    DelegatedSubscription(name: entry.name.value, target: .selectorSet(selectors)), entry.name.origin))
        }
        for entry in namedEntries(fields["processes"], at: "delegated.processes", valueKey: "process", seen: &seen) {
            guard let process = string(entry.value, at: entry.key + ".process") else { continue }
            guard DelegatedConfiguration.isValidProcessName(process) else {
                problem(
                    entry.value, entry.key + ".process",
                    "must be a process name (comm or the last component of argv[0])")
                continue
            }
            delegated.processes.append(
                Located(DelegatedSubscription(name: entry.name.value, target: .processName(process)), entry.name.origin)
            )
        }
        return delegated
    }

    mutating func bool(_ node: Node?, at key: String) -> Located<Bool>? {
        guard let node, let text = string(node, at: key) else { return nil }
        switch text {
        case "true", "false": return Located(text == "true", origin(node, key))
        default:
            problem(node, key, "must be true or false")
            return nil
        }
    }

    mutating func agentHealth(_ node: Node) -> ConfigFile.AgentHealth {
        var health = ConfigFile.AgentHealth()
        guard let fields = mapping(node, at: "agent_health", allowed: ["enabled", "interval", "timeout"]) else {
            return health
        }
        health.enabled = bool(fields["enabled"], at: "agent_health.enabled")
        health.interval = duration(
            fields["interval"], at: "agent_health.interval", atLeast: ExporterConfiguration.AgentHealth.minimumInterval)
        health.timeout = duration(fields["timeout"], at: "agent_health.timeout")
        return health
    }

    mutating func agent(_ node: Node) -> ConfigFile.Agent {
        var agent = ConfigFile.Agent()
        guard
            let fields = mapping(
                node, at: "agent", allowed: ["enabled", "name", "admin_address", "data_file", "interval", "timeout"])
        else { return agent }
        agent.enabled = bool(fields["enabled"], at: "agent.enabled")
        if let node = fields["name"] {
            var seen: Set<String> = []
            agent.name = sourceName(node, at: "agent.name", seen: &seen)
        }
        agent.adminAddress = address(fields["admin_address"], at: "agent.admin_address")
        agent.dataFile = located(fields["data_file"], at: "agent.data_file")
        if let file = agent.dataFile, file.value.isEmpty {
            problem(fields["data_file"]!, "agent.data_file", "must not be empty")
            agent.dataFile = nil
        }
        agent.interval = duration(
            fields["interval"], at: "agent.interval", atLeast: ExporterConfiguration.Agent.minimumInterval)
        agent.timeout = duration(fields["timeout"], at: "agent.timeout")
        return agent
    }

    /// `envoy: {interval, timeout, admins: [{name, admin}]}`.
    mutating func envoy(_ node: Node) -> ConfigFile.Envoy {
        var envoy = ConfigFile.Envoy()
        guard let fields = mapping(node, at: "envoy", allowed: ["interval", "timeout", "admins"]) else { return envoy }
        envoy.interval = duration(
            fields["interval"], at: "envoy.interval", atLeast: ExporterConfiguration.Envoy.minimumInterval)
        envoy.timeout = duration(fields["timeout"], at: "envoy.timeout")
        var seen: Set<String> = []
        for entry in namedEntries(fields["admins"], at: "envoy.admins", valueKey: "admin", seen: &seen) {
            guard let text = string(entry.value, at: entry.key + ".admin") else { continue }
            guard let endpoint = convert(entry.value, entry.key + ".admin", { try EnvoyAdminEndpoint(parsing: text) }) else {
                continue
            }
            envoy.admins.append(
                Located(ExporterConfiguration.Envoy.Admin(name: entry.name.value, endpoint: endpoint.value), entry.name.origin))
        }
        if fields["admins"] == nil, fields["interval"] != nil || fields["timeout"] != nil {
            problem(node, "envoy", "needs admins: a list of {name, admin}")
        }
        return envoy
    }

    mutating func probes(_ node: Node) -> ConfigFile.Probes {
        var probes = ConfigFile.Probes()
        guard let fields = mapping(node, at: "probes", allowed: ["interval", "timeout", "targets"]) else {
            return probes
        }
        probes.interval = duration(
            fields["interval"], at: "probes.interval", atLeast: ProbeConfiguration.minimumInterval)
        probes.timeout = duration(fields["timeout"], at: "probes.timeout")
        var seen: Set<String> = []
        for entry in namedEntries(
            fields["targets"], at: "probes.targets", valueKey: "address", optional: ["spiffe_id", "sni", "starttls", "client_auth"],
            seen: &seen)
        {
            guard let address = string(entry.value, at: entry.key + ".address") else { continue }
            let spiffeID = located(entry.fields["spiffe_id"], at: entry.key + ".spiffe_id")
            let serverName = located(entry.fields["sni"], at: entry.key + ".sni")
            let startTLS = located(entry.fields["starttls"], at: entry.key + ".starttls")
            let clientAuth = located(entry.fields["client_auth"], at: entry.key + ".client_auth")
            do {
                let target = try ProbeTarget(
                    name: entry.name.value, address: address, spiffeID: spiffeID?.value, serverName: serverName?.value,
                    startTLS: startTLS?.value, clientAuth: clientAuth?.value)
                probes.targets.append(Located(target, entry.name.origin))
            } catch {
                // Located at the part that is wrong.
                let part: Origin
                switch error.code {
                case .invalidSPIFFEID: part = spiffeID?.origin ?? entry.name.origin
                case .invalidServerName: part = serverName?.origin ?? entry.name.origin
                case .invalidStartTLS: part = startTLS?.origin ?? entry.name.origin
                case .invalidClientAuth: part = clientAuth?.origin ?? entry.name.origin
                case .invalidAddress, .invalidPort: part = origin(entry.value, entry.key + ".address")
                default: part = entry.name.origin
                }
                problems.append(ConfigurationProblem(part, error.code.rawValue))
            }
        }
        return probes
    }

    /// `probe:` — the `/probe` endpoint's allow-list and concurrency limit.
    mutating func probeEndpoint(_ node: Node, into endpoint: inout ConfigFile.ProbeEndpoint) {
        guard let fields = mapping(node, at: "probe", allowed: ["allowed_targets", "max_concurrent"]) else { return }
        if let node = fields["allowed_targets"] {
            endpoint.allowedTargets = stringList(node, at: "probe.allowed_targets") ?? []
        }
        if let node = fields["max_concurrent"], let value = double(node, at: "probe.max_concurrent") {
            if value >= 0, value == value.rounded(), value <= 10_000 {
                endpoint.maxConcurrent = Located(Int(value), origin(node, "probe.max_concurrent"))
            } else {
                problem(node, "probe.max_concurrent", "must be a whole number ≥ 0 (0 disables the limit)")
            }
        }
    }

    /// `probe_modules:` — name → `{spiffe_id, sni, starttls, client_auth, timeout}`.
    mutating func probeModules(_ node: Node) -> [String: Located<ProbeModule>] {
        guard case .mapping(let entries) = node else {
            problem(node, "probe_modules", "must be a mapping of module names to settings")
            return [:]
        }
        var modules: [String: Located<ProbeModule>] = [:]
        for (nameNode, value) in entries {
            guard let name = nameNode.string, !name.isEmpty else {
                problem(nameNode, "probe_modules", "module names must be non-empty strings")
                continue
            }
            let key = "probe_modules.\(name)"
            guard
                let fields = mapping(
                    value, at: key, allowed: ["spiffe_id", "sni", "starttls", "client_auth", "timeout"])
            else { continue }
            let spiffeID = located(fields["spiffe_id"], at: key + ".spiffe_id")
            let serverName = located(fields["sni"], at: key + ".sni")
            let startTLS = located(fields["starttls"], at: key + ".starttls")
            let clientAuth = located(fields["client_auth"], at: key + ".client_auth")
            let timeout = duration(fields["timeout"], at: key + ".timeout")
            if let timeout, timeout.value <= .zero {
                problem(fields["timeout"]!, key + ".timeout", "must be more than 0")
                continue
            }
            do {
                let module = try ProbeModule(
                    spiffeID: spiffeID?.value, serverName: serverName?.value, startTLS: startTLS?.value,
                    clientAuth: clientAuth?.value, timeout: timeout?.value)
                modules[name] = Located(module, origin(nameNode, key))
            } catch {
                let part: Origin
                switch error.code {
                case .invalidSPIFFEID: part = spiffeID?.origin ?? origin(nameNode, key)
                case .invalidServerName: part = serverName?.origin ?? origin(nameNode, key)
                case .invalidStartTLS: part = startTLS?.origin ?? origin(nameNode, key)
                case .invalidClientAuth: part = clientAuth?.origin ?? origin(nameNode, key)
                default: part = origin(nameNode, key)
                }
                problems.append(ConfigurationProblem(part, error.code.rawValue))
            }
        }
        return modules
    }

    /// `federation:` as a list of endpoints, or `{interval, endpoints}`. Each endpoint is
    /// `{name, trust_domain, url, profile, endpoint_spiffe_id, ca_file}`, checked as the flag is.
    mutating func federation(_ node: Node) -> ConfigFile.Federation {
        var federation = ConfigFile.Federation()
        var list: Node? = node
        var at = "federation"
        if case .mapping = node {
            guard let fields = mapping(node, at: "federation", allowed: ["interval", "endpoints"]) else { return federation }
            federation.interval = duration(fields["interval"], at: "federation.interval")
            list = fields["endpoints"]
            at = "federation.endpoints"
        }
        var seen: Set<String> = []
        for entry in namedEntries(
            list, at: at, valueKey: "url", optional: ["trust_domain", "profile", "endpoint_spiffe_id", "ca_file"], seen: &seen)
        {
            guard let url = string(entry.value, at: entry.key + ".url") else { continue }
            guard let domainNode = entry.fields["trust_domain"] else {
                problem(entry.value, entry.key, "needs trust_domain")
                continue
            }
            guard let trustDomain = string(domainNode, at: entry.key + ".trust_domain") else { continue }
            var profile = FederationEndpointConfiguration.Profile.httpsWeb
            if let node = entry.fields["profile"], let text = string(node, at: entry.key + ".profile") {
                guard let parsed = FederationEndpointConfiguration.Profile(rawValue: text) else {
                    problem(node, entry.key + ".profile", "unknown profile \"\(text)\" (https_web, https_spiffe)")
                    continue
                }
                profile = parsed
            }
            let endpointID = located(entry.fields["endpoint_spiffe_id"], at: entry.key + ".endpoint_spiffe_id")
            let caFile = located(entry.fields["ca_file"], at: entry.key + ".ca_file")
            do {
                let endpoint = try FederationEndpointConfiguration(
                    name: entry.name.value, trustDomain: trustDomain, url: url, profile: profile,
                    endpointSPIFFEID: endpointID?.value, caFile: caFile?.value)
                federation.endpoints.append(Located(endpoint, entry.name.origin))
            } catch {
                problems.append(ConfigurationProblem(entry.name.origin, "\(error)"))
            }
        }
        return federation
    }

    /// `{source, spiffe_id, kind, audience, min_count}` entries; each problem at the value that has it.
    mutating func expectedIdentities(_ node: Node) -> [Located<ExpectedIdentity>] {
        guard let items = sequence(node, at: "expected_identities") else { return [] }
        var result: [Located<ExpectedIdentity>] = []
        for (index, item) in items.enumerated() {
            let key = "expected_identities[\(index)]"
            guard let fields = mapping(item, at: key, allowed: ["source", "spiffe_id", "kind", "audience", "min_count"])
            else { continue }
            guard let idNode = fields["spiffe_id"], let id = string(idNode, at: key + ".spiffe_id") else {
                if fields["spiffe_id"] == nil { problem(item, key, "needs spiffe_id") }
                continue
            }
            guard let pattern = convert(idNode, key + ".spiffe_id", { try SPIFFEIDPattern(parsing: id) }) else { continue }
            var expectation = ExpectedIdentity(pattern: pattern.value)
            var unchecked: Set<String> = []
            if let sourceNode = fields["source"] {
                guard let name = sourceName(sourceNode, at: key + ".source", seen: &unchecked),
                    SourceName.isValid(name.value)
                else { continue }
                expectation.source = name.value
            }
            if let kindNode = fields["kind"], let text = string(kindNode, at: key + ".kind") {
                guard let kind = ExpectedIdentity.Kind(rawValue: text) else {
                    problem(kindNode, key + ".kind", "must be x509 or jwt (got \"\(text)\")")
                    continue
                }
                expectation.kind = kind
            }
            if let audienceNode = fields["audience"] {
                // One audience set: "a", "a,b" or a list.
                let values: [String]?
                if case .scalar(let scalar) = audienceNode {
                    values = scalar.string.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                } else {
                    values = stringList(audienceNode, at: key + ".audience")?.map(\.value)
                }
                guard let values,
                    let label = convert(audienceNode, key + ".audience", { try ExpectedIdentity.audienceLabel(values) })
                else { continue }
                expectation.audience = label.value
            }
            if let countNode = fields["min_count"], let count = double(countNode, at: key + ".min_count") {
                guard count == count.rounded(), count >= 1, count <= 1_000_000 else {
                    problem(countNode, key + ".min_count", "must be a whole number of at least 1")
                    continue
                }
                expectation.minCount = Int(count)
            }
            guard convert(item, key, { try expectation.validate() }) != nil else { continue }
            result.append(Located(expectation, origin(item, key)))
        }
        return result
    }

    /// `{name, regex}` entries.
    mutating func spiffeIDLabels(_ node: Node) -> [Located<SPIFFEIDLabels.Label>] {
        guard let items = sequence(node, at: "spiffe_id_labels") else { return [] }
        var result: [Located<SPIFFEIDLabels.Label>] = []
        for (index, item) in items.enumerated() {
            let key = "spiffe_id_labels[\(index)]"
            guard let fields = mapping(item, at: key, allowed: ["name", "regex"]) else { continue }
            guard let nameNode = fields["name"], let regexNode = fields["regex"] else {
                problem(item, key, "needs name and regex")
                continue
            }
            guard let name = string(nameNode, at: key + ".name"), let regex = string(regexNode, at: key + ".regex"),
                convert(nameNode, key + ".name", { try SPIFFEIDLabels.checkName(name) }) != nil,
                let label = convert(regexNode, key + ".regex", { try SPIFFEIDLabels.Label(name: name, pattern: regex) })
            else { continue }
            result.append(Located(label.value, origin(item, key)))
        }
        return result
    }
}
