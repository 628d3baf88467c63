/// One SPIRE workload selector, `type:value` (`k8s:ns:payments`, `unix:uid:1000`). The type ends
/// at the first colon; the value may hold more colons.
public struct DelegatedSelector: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var type: String
    public var value: String

    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }

    public init(parsing text: String) throws(DelegatedConfigurationError) {
        let trimmed = text.trimmingWhitespace()
        guard let colon = trimmed.firstIndex(of: ":") else { throw .invalidSelector(text) }
        let type = String(trimmed[..<colon])
        let value = String(trimmed[trimmed.index(after: colon)...])
        guard !type.isEmpty, !value.isEmpty, !type.contains(where: \.isWhitespace) else {
            throw .invalidSelector(text)
        }
        self.init(type: type, value: value)
    }

    public var description: String { "\(type):\(value)" }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.type, lhs.value) < (rhs.type, rhs.value) }
}

/// A named view on other workloads' SVIDs through SPIRE's Delegated Identity API. The name becomes
/// the `source` label of the SVIDs it delivers, so dashboards and alerts treat it like any source.
public struct DelegatedSubscription: Hashable, Sendable {
    public enum Target: Hashable, Sendable {
        /// `SubscribeToX509SVIDs`: registration entries whose selectors are all among these.
        case selectors([DelegatedSelector])
        /// `SubscribeToX509SVIDsByPID` for every process with this name found in /proc.
        case processName(String)

        /// `.selectors` as the agent matches them: a set, so order and repeats carry no meaning.
        public static func selectorSet(_ selectors: [DelegatedSelector]) -> Self {
            .selectors(Array(Set(selectors)).sorted())
        }
    }

    public var name: String
    public var target: Target

    public init(name: String, target: Target) {
        self.name = name
        self.target = target
    }

    /// Checks the name and the target; whether the name is free is the configuration's business.
    public func validate() throws(DelegatedConfigurationError) {
        guard DelegatedConfiguration.isValidName(name) else { throw .invalidName(name) }
        switch target {
        case .selectors(let selectors):
            guard !selectors.isEmpty else { throw .noSelector(name) }
        case .processName(let process):
            guard DelegatedConfiguration.isValidProcessName(process) else { throw .invalidProcessName(process) }
        }
    }
}

/// Configuration of the delegated collector, as flags and a config file produce it.
public struct DelegatedConfiguration: Hashable, Sendable {
    public var address: WorkloadEndpointAddress
    public var subscriptions: [DelegatedSubscription]
    /// How often /proc is rescanned for process-name subscriptions (and each PID re-checked).
    public var processRescanInterval: Duration

    public static let defaultProcessRescanInterval: Duration = .seconds(30)
    public static let minimumProcessRescanInterval: Duration = .seconds(1)

    public init(
        address: WorkloadEndpointAddress, subscriptions: [DelegatedSubscription],
        processRescanInterval: Duration = Self.defaultProcessRescanInterval
    ) {
        self.address = address
        self.subscriptions = subscriptions
        self.processRescanInterval = processRescanInterval
    }

    /// Checks names (valid, unique, not taken by another source) and targets; `reserved` holds the
    /// source names other collectors use.
    public func validate(reserved: Set<String> = []) throws(DelegatedConfigurationError) {
        guard !subscriptions.isEmpty else { throw .noSubscription }
        var seen: Set<String> = []
        for subscription in subscriptions {
            guard Self.isValidName(subscription.name) else { throw .invalidName(subscription.name) }
            guard !reserved.contains(subscription.name) else { throw .reservedName(subscription.name) }
            guard seen.insert(subscription.name).inserted else { throw .duplicateName(subscription.name) }
            try subscription.validate()
        }
        guard processRescanInterval >= Self.minimumProcessRescanInterval else {
            throw .invalidValue("process rescan interval must be at least 1s")
        }
    }

    /// Names become `source` label values: a letter, then letters, digits, `_`, `-`, `.`.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 128, first.isASCII,
            first.properties.isAlphabetic
        else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "_-.".unicodeScalars.contains(scalar))
        }
    }

    /// A process name as /proc shows it (`comm`, or the last component of argv[0]): no `/`, no NUL.
    public static func isValidProcessName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.contains("/") && !name.contains("\u{0}")
    }
}

/// Parsing of the `--collector.delegated.*` flag values. Without I/O, so the rules are unit-tested
/// and a config file can reuse them.
public enum DelegatedFlags {
    /// `NAME=TYPE:VALUE[,TYPE:VALUE...]` (`--collector.delegated.subscription`).
    public static func parseSubscription(_ text: String) throws(DelegatedConfigurationError) -> DelegatedSubscription {
        let (name, rest) = try splitName(text)
        var selectors: [DelegatedSelector] = []
        for part in rest.split(separator: ",", omittingEmptySubsequences: false) {
            selectors.append(try DelegatedSelector(parsing: String(part)))
        }
        guard !selectors.isEmpty else { throw .noSelector(name) }
        return DelegatedSubscription(name: name, target: .selectorSet(selectors))
    }

    /// `NAME=PROCESS` (`--collector.delegated.process`).
    public static func parseProcess(_ text: String) throws(DelegatedConfigurationError) -> DelegatedSubscription {
        let (name, process) = try splitName(text)
        guard DelegatedConfiguration.isValidProcessName(process) else { throw .invalidProcessName(process) }
        return DelegatedSubscription(name: name, target: .processName(process))
    }

    private static func splitName(_ text: String) throws(DelegatedConfigurationError) -> (String, String) {
        guard let equals = text.firstIndex(of: "=") else { throw .missingName(text) }
        let name = String(text[..<equals])
        guard DelegatedConfiguration.isValidName(name) else { throw .invalidName(name) }
        return (name, String(text[text.index(after: equals)...]))
    }
}

public enum DelegatedConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingName(String)
    case invalidName(String)
    case reservedName(String)
    case duplicateName(String)
    case invalidSelector(String)
    case noSelector(String)
    case invalidProcessName(String)
    case noSubscription
    case invalidValue(String)

    public var description: String {
        switch self {
        case .missingName(let text): "\"\(text)\" has no NAME= prefix"
        case .invalidName(let name):
            "invalid subscription name \"\(name)\" (a letter, then letters, digits, '_', '-' or '.')"
        case .reservedName(let name): "subscription name \"\(name)\" is already the name of another source"
        case .duplicateName(let name): "subscription name \"\(name)\" is used twice"
        case .invalidSelector(let text): "invalid selector \"\(text)\" (expected TYPE:VALUE, e.g. k8s:ns:payments)"
        case .noSelector(let name): "subscription \"\(name)\" has no selector"
        case .invalidProcessName(let text): "invalid process name \"\(text)\" (non-empty, no '/')"
        case .noSubscription: "the delegated collector needs at least one subscription or process"
        case .invalidValue(let text): text
        }
    }
}
