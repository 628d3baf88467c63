/// Where a setting came from, so a problem names what the operator has to change.
public enum Origin: Sendable, Hashable, CustomStringConvertible {
    /// A command-line flag, e.g. `--collector.workload-api.timeout`.
    case flag(String)
    /// An environment variable, e.g. `SPIFFE_ENDPOINT_SOCKET`.
    case environment(String)
    /// A key of the config file, e.g. `workload_api[1].timeout` (empty for the file as a whole),
    /// and its line when known.
    case file(path: String, line: Int?, key: String)
    /// The built-in default of the setting the flag names.
    case defaultValue(of: String)

    public var description: String {
        switch self {
        case .flag(let name), .environment(let name): name
        case .file(let path, let line, let key):
            ([line.map { "\(path):\($0)" } ?? path] + (key.isEmpty ? [] : [key])).joined(separator: ": ")
        case .defaultValue(let flag): "the default of \(flag)"
        }
    }
}

/// A value and where it came from.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var origin: Origin

    public init(_ value: Value, _ origin: Origin) {
        self.value = value
        self.origin = origin
    }
}

extension Located: Equatable where Value: Equatable {}

/// One thing wrong with the configuration, and where it was said.
public struct ConfigurationProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var origin: Origin
    public var message: String

    public init(_ origin: Origin, _ message: String) {
        self.origin = origin
        self.message = message
    }

    public var description: String { "\(origin): \(message)" }
}

/// Every problem found, so they can be fixed in one go.
public struct ConfigurationProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigurationProblem]

    /// Problems of a file come first, in line order (as an editor walks the file), then the
    /// others (flags, environment) in the order they were found.
    public init(_ problems: [ConfigurationProblem]) {
        self.problems = problems.enumerated().sorted { a, b in
            Self.order(a.element.origin, a.offset) < Self.order(b.element.origin, b.offset)
        }.map(\.element)
    }

    private static func order(_ origin: Origin, _ index: Int) -> (Int, Int, Int) {
        if case .file(_, let line, _) = origin { return (0, line ?? 0, index) }
        return (1, 0, index)
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
