import Foundation
import SPIFFEExporterCore
import Yams

/// One Workload API endpoint to watch.
public struct WorkloadAPISourceSettings: Sendable, Hashable {
    public var name: String
    public var address: String?
    public var timeout: String?
    public var jwtAudiences: [[String]]
    public var jwtInterval: String?

    public init(name: String, address: String? = nil, timeout: String? = nil, jwtAudiences: [[String]] = [], jwtInterval: String? = nil) {
        self.name = name
        self.address = address
        self.timeout = timeout
        self.jwtAudiences = jwtAudiences
        self.jwtInterval = jwtInterval
    }
}

/// Everything a config file can say. Collector sections the command line already models
/// (certificate files, delegated identity, probes) are carried as the equivalent flag arguments,
/// so file and flags are validated by the same code and flags simply come after (and win).
public struct ConfigFile: Sendable, Hashable {
    public var listenAddress: String?
    public var telemetryPath: String?
    public var webConfigFile: String?
    public var maxRequests: Int?
    public var logLevel: String?
    public var logFormat: String?
    public var renewalDeadlineFraction: Double?
    public var identityGracePeriod: String?
    /// `nil` when the file has no `workload_api` key (the command line decides).
    public var workloadAPI: [WorkloadAPISourceSettings]?
    public var certFilesArguments: [String] = []
    public var delegatedArguments: [String] = []
    public var probeArguments: [String] = []

    public init() {}
}

/// A configuration problem with its location, so all of them can be reported at once.
public struct ConfigProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String

    public var description: String {
        line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
    }
}

public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Parses and validates the YAML config file (docs/configuration.md), collecting every problem.
public enum ConfigFileParser {
    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> ConfigFile {
        var reader = Reader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigErrors(problems: [ConfigProblem(file: file, line: Reader.line(of: error), message: "invalid YAML: \(error)")])
        }
        var config = ConfigFile()
        guard let root else { return config }  // an empty file configures nothing
        guard let top = reader.mapping(root, at: "top level", allowed: [
            "web", "log", "renewal", "workload_api", "cert_files", "delegated", "agent_health", "probes",
        ]) else { throw ConfigErrors(problems: reader.problems) }

        if let web = top["web"].flatMap({
            reader.mapping($0, at: "web", allowed: ["listen_address", "telemetry_path", "config_file", "max_requests"])
        }) {
            config.listenAddress = web["listen_address"].flatMap { reader.string($0, at: "web.listen_address") }
            if let address = config.listenAddress, let node = web["listen_address"] {
                reader.check(node) { try ListenAddress(parsing: address) }
            }
            config.telemetryPath = web["telemetry_path"].flatMap { reader.string($0, at: "web.telemetry_path") }
            if let path = config.telemetryPath, !path.hasPrefix("/"), let node = web["telemetry_path"] {
                reader.problem(node, "web.telemetry_path must start with /")
            }
            config.webConfigFile = web["config_file"].flatMap { reader.string($0, at: "web.config_file") }
            if let node = web["max_requests"], let value = reader.double(node, at: "web.max_requests") {
                if value >= 0, value == value.rounded(), value <= 1_000_000 {
                    config.maxRequests = Int(value)
                } else {
                    reader.problem(node, "web.max_requests must be a whole number ≥ 0 (0 disables the limit)")
                }
            }
        }
        if let log = top["log"].flatMap({ reader.mapping($0, at: "log", allowed: ["level", "format"]) }) {
            config.logLevel = log["level"].flatMap { reader.string($0, at: "log.level") }
            if let level = config.logLevel, !["debug", "info", "warn", "warning", "error"].contains(level), let node = log["level"] {
                reader.problem(node, "log.level must be debug, info, warn or error")
            }
            config.logFormat = log["format"].flatMap { reader.string($0, at: "log.format") }
            if let format = config.logFormat, !["logfmt", "json"].contains(format), let node = log["format"] {
                reader.problem(node, "log.format must be logfmt or json")
            }
        }
        if let renewal = top["renewal"].flatMap({ reader.mapping($0, at: "renewal", allowed: ["deadline_fraction", "identity_grace_period"]) }) {
            if let node = renewal["deadline_fraction"] {
                let fraction = reader.double(node, at: "renewal.deadline_fraction")
                if let fraction, !(fraction > 0 && fraction <= 1) {
                    reader.problem(node, "renewal.deadline_fraction must be in (0, 1]")
                }
                config.renewalDeadlineFraction = fraction
            }
            config.identityGracePeriod = renewal["identity_grace_period"].flatMap { reader.duration($0, at: "renewal.identity_grace_period") }
        }
        if let node = top["workload_api"] {
            config.workloadAPI = reader.workloadAPISources(node)
        }
        if let node = top["cert_files"] {
            config.certFilesArguments = reader.certFilesArguments(node)
        }
        if let node = top["delegated"] {
            config.delegatedArguments = reader.delegatedArguments(node)
        }
        if let node = top["agent_health"] {
            config.delegatedArguments += reader.agentHealthArguments(node)
        }
        if let node = top["probes"] {
            config.probeArguments = reader.probeArguments(node)
        }
        if !reader.problems.isEmpty { throw ConfigErrors(problems: reader.problems) }
        return config
    }

    public static func load(path: String) throws(ConfigErrors) -> ConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigErrors(problems: [ConfigProblem(file: path, line: nil, message: "cannot read the file")])
        }
        guard data.count <= 4 << 20 else {
            throw ConfigErrors(problems: [ConfigProblem(file: path, line: nil, message: "file is larger than 4 MiB")])
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }
}

/// Walks YAML nodes, recording a located problem for every mistake instead of stopping at the first.
struct Reader {
    let file: String
    var problems: [ConfigProblem] = []

    init(file: String) {
        self.file = file
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

    mutating func problem(_ node: Node, _ message: String) {
        problems.append(ConfigProblem(file: file, line: node.mark?.line, message: message))
    }

    mutating func check(_ node: Node, _ body: () throws -> Void) {
        do { try body() } catch { problem(node, "\(error)") }
    }

    /// A mapping with only the allowed keys; unknown or repeated keys are problems (typos must not
    /// silently do nothing).
    mutating func mapping(_ node: Node, at path: String, allowed: Set<String>) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            problem(node, "\(path) must be a mapping")
            return nil
        }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                problem(key, "\(path): keys must be strings")
                continue
            }
            if !allowed.contains(name) {
                problem(key, "\(path): unknown key \"\(name)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            if result[name] != nil { problem(key, "\(path): key \"\(name)\" is repeated") }
            result[name] = value
        }
        return result
    }

    mutating func sequence(_ node: Node, at path: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            problem(node, "\(path) must be a list")
            return nil
        }
        return Array(sequence)
    }

    mutating func string(_ node: Node, at path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            problem(node, "\(path) must be a string")
            return nil
        }
        return scalar.string
    }

    mutating func double(_ node: Node, at path: String) -> Double? {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string) else {
            problem(node, "\(path) must be a number")
            return nil
        }
        return value
    }

    mutating func duration(_ node: Node, at path: String) -> String? {
        guard let text = string(node, at: path) else { return nil }
        do {
            _ = try DurationText.seconds(text)
        } catch {
            problem(node, "\(path): \(error)")
            return nil
        }
        return text
    }

    mutating func stringList(_ node: Node, at path: String) -> [String]? {
        if case .scalar(let scalar) = node { return [scalar.string] }
        guard let items = sequence(node, at: path) else { return nil }
        return items.compactMap { string($0, at: path + "[]") }
    }

    mutating func sourceName(_ node: Node, at path: String, seen: inout Set<String>) -> String? {
        guard let name = string(node, at: path) else { return nil }
        let valid = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
        if !valid { problem(node, "\(path): source names use letters, digits, '_', '-' and '.' only (got \"\(name)\")") }
        if !seen.insert(name).inserted { problem(node, "\(path): source name \"\(name)\" is used twice") }
        return name
    }

    /// The entries `{name: NAME, <valueKey>: VALUE, <optional keys>}` of the list at `list`, each with
    /// its path, its name (checked, unique within `seen`), its value node and all its fields. An
    /// entry without name or value is reported and skipped.
    mutating func namedEntries(
        _ node: Node?, at list: String, valueKey: String, optional: Set<String> = [], seen: inout Set<String>
    ) -> [(path: String, name: String, value: Node, fields: [String: Node])] {
        var entries: [(path: String, name: String, value: Node, fields: [String: Node])] = []
        for (index, item) in (node.flatMap { sequence($0, at: list) } ?? []).enumerated() {
            let path = "\(list)[\(index)]"
            guard let entry = mapping(item, at: path, allowed: optional.union(["name", valueKey])) else { continue }
            guard let nameNode = entry["name"], let valueNode = entry[valueKey] else {
                problem(item, "\(path) needs name and \(valueKey)")
                continue
            }
            guard let name = sourceName(nameNode, at: path + ".name", seen: &seen) else { continue }
            entries.append((path, name, valueNode, entry))
        }
        return entries
    }

    mutating func workloadAPISources(_ node: Node) -> [WorkloadAPISourceSettings] {
        guard let items = sequence(node, at: "workload_api") else { return [] }
        var seen: Set<String> = []
        var result: [WorkloadAPISourceSettings] = []
        for (index, item) in items.enumerated() {
            let path = "workload_api[\(index)]"
            guard let fields = mapping(item, at: path, allowed: ["name", "address", "timeout", "jwt_audiences", "jwt_interval"]) else { continue }
            var name = ""
            if let nameNode = fields["name"] {
                name = sourceName(nameNode, at: path + ".name", seen: &seen) ?? ""
            } else if index == 0 {
                name = "workload_api"
                seen.insert(name)
            } else {
                problem(item, "\(path).name is required when several Workload API sources are configured")
            }
            var settings = WorkloadAPISourceSettings(name: name)
            if let addressNode = fields["address"], let address = string(addressNode, at: path + ".address") {
                check(addressNode) { _ = try WorkloadEndpointAddress(parsing: address) }
                settings.address = address
            }
            settings.timeout = fields["timeout"].flatMap { duration($0, at: path + ".timeout") }
            settings.jwtInterval = fields["jwt_interval"].flatMap { duration($0, at: path + ".jwt_interval") }
            if let audiencesNode = fields["jwt_audiences"], let sets = sequence(audiencesNode, at: path + ".jwt_audiences") {
                // Each entry is one audience set: a string ("a" or "a,b") or a list of strings.
                settings.jwtAudiences = sets.compactMap { entry -> [String]? in
                    let values: [String]?
                    if case .scalar(let scalar) = entry {
                        values = scalar.string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    } else {
                        values = stringList(entry, at: path + ".jwt_audiences[]")
                    }
                    guard let values, !values.isEmpty, values.allSatisfy({ !$0.isEmpty }) else {
                        problem(entry, "\(path).jwt_audiences: an audience set must not be empty")
                        return nil
                    }
                    return values
                }
            }
            result.append(settings)
        }
        return result
    }

    mutating func certFilesArguments(_ node: Node) -> [String] {
        guard let fields = mapping(node, at: "cert_files", allowed: [
            "directories", "globs", "refresh_interval", "max_file_size", "settle_delay", "svid_file_name",
            "svid_key_file_name", "svid_bundle_file_name", "federated_bundle_file_names", "jwt_svid_file_names",
            "jwt_bundle_file_name",
        ]) else { return [] }
        var args: [String] = []
        var seen: Set<String> = []
        for entry in namedEntries(fields["directories"], at: "cert_files.directories", valueKey: "path", seen: &seen) {
            if let dir = string(entry.value, at: entry.path + ".path") {
                args.append("--collector.cert-files.dir=\(entry.name)=\(dir)")
            }
        }
        if let list = fields["globs"].flatMap({ sequence($0, at: "cert_files.globs") }) {
            for (index, item) in list.enumerated() {
                let path = "cert_files.globs[\(index)]"
                guard let entry = mapping(item, at: path, allowed: ["name", "pattern"]) else { continue }
                guard let patternNode = entry["pattern"], let pattern = string(patternNode, at: path + ".pattern") else {
                    problem(item, "\(path) needs a pattern")
                    continue
                }
                if let nameNode = entry["name"], let name = string(nameNode, at: path + ".name") {
                    args.append("--collector.cert-files.glob=\(name)=\(pattern)")
                } else {
                    args.append("--collector.cert-files.glob=\(pattern)")
                }
            }
        }
        for (key, flag) in [
            ("refresh_interval", "refresh-interval"), ("settle_delay", "settle-delay"),
        ] {
            if let value = fields[key].flatMap({ duration($0, at: "cert_files.\(key)") }) {
                args.append("--collector.cert-files.\(flag)=\(value)")
            }
        }
        for (key, flag) in [
            ("max_file_size", "max-file-size"), ("svid_file_name", "svid-file-name"), ("svid_key_file_name", "svid-key-file-name"),
            ("svid_bundle_file_name", "svid-bundle-file-name"), ("jwt_bundle_file_name", "jwt-bundle-file-name"),
        ] {
            if let value = fields[key].flatMap({ string($0, at: "cert_files.\(key)") }) {
                args.append("--collector.cert-files.\(flag)=\(value)")
            }
        }
        for (key, flag) in [("federated_bundle_file_names", "federated-bundle-file-name"), ("jwt_svid_file_names", "jwt-svid-file-name")] {
            for value in fields[key].flatMap({ stringList($0, at: "cert_files.\(key)") }) ?? [] {
                args.append("--collector.cert-files.\(flag)=\(value)")
            }
        }
        return args
    }

    mutating func delegatedArguments(_ node: Node) -> [String] {
        guard
            let fields = mapping(
                node, at: "delegated", allowed: ["address", "subscriptions", "processes", "process_rescan_interval", "timeout"])
        else { return [] }
        var args: [String] = []
        if let addressNode = fields["address"], let address = string(addressNode, at: "delegated.address") {
            check(addressNode) { _ = try WorkloadEndpointAddress(parsing: address) }
            args.append("--collector.delegated.address=\(address)")
        }
        if let interval = fields["process_rescan_interval"].flatMap({ duration($0, at: "delegated.process_rescan_interval") }) {
            args.append("--collector.delegated.process-rescan-interval=\(interval)")
        }
        if let timeout = fields["timeout"].flatMap({ duration($0, at: "delegated.timeout") }) {
            args.append("--collector.delegated.timeout=\(timeout)")
        }
        var seen: Set<String> = []
        for entry in namedEntries(fields["subscriptions"], at: "delegated.subscriptions", valueKey: "selectors", seen: &seen) {
            guard let selectors = stringList(entry.value, at: entry.path + ".selectors") else { continue }
            if selectors.isEmpty || selectors.contains(where: { !$0.contains(":") }) {
                problem(entry.value, "\(entry.path).selectors must be type:value selectors, e.g. k8s:ns:payments")
                continue
            }
            args.append("--collector.delegated.subscription=\(entry.name)=\(selectors.joined(separator: ","))")
        }
        for entry in namedEntries(fields["processes"], at: "delegated.processes", valueKey: "process", seen: &seen) {
            guard let process = string(entry.value, at: entry.path + ".process") else { continue }
            if process.isEmpty || process.contains("/") {
                problem(entry.value, "\(entry.path).process must be a process name (comm or the last component of argv[0])")
                continue
            }
            args.append("--collector.delegated.process=\(entry.name)=\(process)")
        }
        return args
    }

    mutating func agentHealthArguments(_ node: Node) -> [String] {
        guard let fields = mapping(node, at: "agent_health", allowed: ["enabled", "interval", "timeout"]) else { return [] }
        var args: [String] = []
        if let enabledNode = fields["enabled"] {
            switch string(enabledNode, at: "agent_health.enabled") {
            case "true": args.append("--collector.agent-health")
            case "false": args.append("--no-collector.agent-health")
            case nil: break
            default: problem(enabledNode, "agent_health.enabled must be true or false")
            }
        }
        if let interval = fields["interval"].flatMap({ duration($0, at: "agent_health.interval") }) {
            args.append("--collector.agent-health.interval=\(interval)")
        }
        if let timeout = fields["timeout"].flatMap({ duration($0, at: "agent_health.timeout") }) {
            args.append("--collector.agent-health.timeout=\(timeout)")
        }
        return args
    }

    mutating func probeArguments(_ node: Node) -> [String] {
        guard let fields = mapping(node, at: "probes", allowed: ["interval", "timeout", "targets"]) else { return [] }
        var args: [String] = []
        if let interval = fields["interval"].flatMap({ duration($0, at: "probes.interval") }) {
            args.append("--probe.interval=\(interval)")
        }
        if let timeout = fields["timeout"].flatMap({ duration($0, at: "probes.timeout") }) {
            args.append("--probe.timeout=\(timeout)")
        }
        var seen: Set<String> = []
        for entry in namedEntries(
            fields["targets"], at: "probes.targets", valueKey: "address", optional: ["spiffe_id", "sni"], seen: &seen)
        {
            guard let address = string(entry.value, at: entry.path + ".address") else { continue }
            var value = "\(entry.name)=\(address)"
            if let idNode = entry.fields["spiffe_id"], let id = string(idNode, at: entry.path + ".spiffe_id") {
                check(idNode) { _ = try SPIFFEID(parsing: id) }
                value += ",spiffe_id=\(id)"
            }
            if let sni = entry.fields["sni"].flatMap({ string($0, at: entry.path + ".sni") }) { value += ",sni=\(sni)" }
            args.append("--probe.target=\(value)")
        }
        return args
    }
}
