/// Where the Workload API listens, parsed from `--collector.workload-api.address` or
/// `SPIFFE_ENDPOINT_SOCKET` (spiffe/spiffe standards/SPIFFE_Workload_Endpoint.md §4).
public enum WorkloadEndpointAddress: Hashable, Sendable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    public static let defaultAddress = "unix:///tmp/spire-agent/public/api.sock"
    public static let environmentVariable = "SPIFFE_ENDPOINT_SOCKET"

    public var description: String {
        switch self {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        }
    }

    /// Parses `unix:///absolute/path` (also `unix:/absolute/path`) or `tcp://IP:PORT`.
    public init(parsing text: String) throws(WorkloadEndpointAddressError) {
        guard let colon = text.firstIndex(of: ":") else { throw .missingScheme }
        let scheme = text[..<colon]
        let rest = text[text.index(after: colon)...]
        switch scheme {
        case "unix":
            guard rest.hasPrefix("/") else { throw .opaque }
            if rest.contains("?") { throw .queryNotAllowed }
            if rest.contains("#") { throw .fragmentNotAllowed }
            var path = Substring(rest)
            if rest.hasPrefix("//") {
                let afterSlashes = rest.dropFirst(2)
                let authorityEnd = afterSlashes.firstIndex(of: "/") ?? afterSlashes.endIndex
                let authority = afterSlashes[..<authorityEnd]
                if authority.contains("@") { throw .userInfoNotAllowed }
                // go-spiffe accepts unix://host/path, but grpc would take "host" as an authority and
                // the spec forbids it: reject rather than silently dial a different path.
                guard authority.isEmpty else { throw .unixAuthorityNotAllowed }
                path = afterSlashes[authorityEnd...]
            }
            guard path.hasPrefix("/"), path.count > 1 else { throw .missingPath }
            self = .unix(path: String(path))
        case "tcp":
            guard rest.hasPrefix("//") else { throw .opaque }
            let authorityAndRest = rest.dropFirst(2)
            if authorityAndRest.contains("?") { throw .queryNotAllowed }
            if authorityAndRest.contains("#") { throw .fragmentNotAllowed }
            if authorityAndRest.contains("/") { throw .pathNotAllowed }
            if authorityAndRest.contains("@") { throw .userInfoNotAllowed }
            guard !authorityAndRest.isEmpty else { throw .missingHost }
            let host: Substring
            let portText: Substring?
            if authorityAndRest.hasPrefix("[") {
                guard let close = authorityAndRest.firstIndex(of: "]") else { throw .hostNotIP }
                host = authorityAndRest[authorityAndRest.index(after: authorityAndRest.startIndex)..<close]
                let after = authorityAndRest[authorityAndRest.index(after: close)...]
                portText = after.hasPrefix(":") ? after.dropFirst() : (after.isEmpty ? nil : after)
                guard Self.isIPv6Literal(host) else { throw .hostNotIP }
            } else if let portColon = authorityAndRest.lastIndex(of: ":") {
                host = authorityAndRest[..<portColon]
                portText = authorityAndRest[authorityAndRest.index(after: portColon)...]
                guard Self.isIPv4Literal(host) else { throw .hostNotIP }
            } else {
                host = authorityAndRest
                portText = nil
                guard Self.isIPv4Literal(host) else { throw .hostNotIP }
            }
            guard let portText, !portText.isEmpty else { throw .missingPort }
            guard portText.allSatisfy(\.isASCIIDigit), let port = Int(portText), (1...65535).contains(port) else {
                throw .invalidPort
            }
            self = .tcp(host: String(host), port: port)
        default:
            throw .missingScheme
        }
    }

    /// ``init(parsing:)`` whose error also says how to write what was probably meant.
    public init(explaining text: String) throws(WorkloadEndpointAddressError.Explained) {
        do {
            try self.init(parsing: text)
        } catch {
            throw WorkloadEndpointAddressError.Explained(error: error, suggestion: Self.suggestion(for: text, error))
        }
    }

    /// A socket path without the scheme becomes `unix://PATH`; a relative one cannot be used.
    static func suggestion(for text: String, _ error: WorkloadEndpointAddressError) -> String {
        let absolute = "use unix:///absolute/path"
        if text.hasPrefix("/") { return "a socket path is written unix://\(text)" }
        let unixPath = text.hasPrefix("unix:") ? String(text.dropFirst(5).drop { $0 == "/" }) : nil
        switch error {
        case .missingScheme where !text.contains("://"), .opaque where unixPath != nil,
            .unixAuthorityNotAllowed where unixPath != nil:
            return "a relative socket path is not allowed: \(absolute)"
        default:
            return "\(absolute) or tcp://IP:PORT"
        }
    }

    static func isIPv4Literal(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && (Int(part) ?? 256) <= 255
        }
    }

    static func isIPv6Literal(_ text: Substring) -> Bool {
        !text.isEmpty && text.contains(":") && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}

extension Character {
    var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}

/// Why a Workload API address was rejected; messages follow go-spiffe's wording.
public enum WorkloadEndpointAddressError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The error with what to write instead, for operators.
    public struct Explained: Error, Hashable, Sendable, CustomStringConvertible {
        public var error: WorkloadEndpointAddressError
        public var suggestion: String
        public var description: String { "\(error) (\(suggestion))" }
    }

    case missingScheme, opaque, missingPath, queryNotAllowed, fragmentNotAllowed, userInfoNotAllowed
    case unixAuthorityNotAllowed, missingHost, hostNotIP, missingPort, invalidPort, pathNotAllowed

    public var description: String {
        switch self {
        case .missingScheme: "workload endpoint socket URI must have a \"tcp\" or \"unix\" scheme"
        case .opaque: "workload endpoint socket URI must not be opaque"
        case .missingPath: "workload endpoint unix socket URI must include a path"
        case .queryNotAllowed: "workload endpoint socket URI must not include query values"
        case .fragmentNotAllowed: "workload endpoint socket URI must not include a fragment"
        case .userInfoNotAllowed: "workload endpoint socket URI must not include user info"
        case .unixAuthorityNotAllowed:
            "workload endpoint unix socket URI must not include a host (use unix:///absolute/path)"
        case .missingHost: "workload endpoint tcp socket URI must include a host"
        case .hostNotIP: "workload endpoint tcp socket URI host component must be an IP:port"
        case .missingPort: "workload endpoint tcp socket URI must include a port"
        case .invalidPort: "workload endpoint tcp socket URI port must be a number from 1 to 65535"
        case .pathNotAllowed: "workload endpoint tcp socket URI must not include a path"
        }
    }
}
