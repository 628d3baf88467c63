import Foundation

/// One `probe_modules:` entry: how `GET /probe?target=…&module=NAME` probes its target.
public struct ProbeModule: Sendable, Hashable {
    public var spiffeID: String?
    public var serverName: String?
    public var startTLS: StartTLSProtocol?
    public var clientAuthRequired: Bool
    /// At most this long, even when Prometheus allows more.
    public var timeout: Duration?

    public init(
        spiffeID: String? = nil, serverName: String? = nil, startTLS: StartTLSProtocol? = nil,
        clientAuthRequired: Bool = false, timeout: Duration? = nil
    ) {
        self.spiffeID = spiffeID
        self.serverName = serverName
        self.startTLS = startTLS
        self.clientAuthRequired = clientAuthRequired
        self.timeout = timeout
    }

    /// Checks a config file entry as `--probe.target` options are checked.
    public init(
        spiffeID: String?, serverName: String?, startTLS: String?, clientAuth: String?, timeout: Duration?
    ) throws(ProbeConfigurationError) {
        // The same rules as a target's options, on a placeholder address.
        let checked = try ProbeTarget(
            name: "module", address: "127.0.0.1:1", spiffeID: spiffeID, serverName: serverName, startTLS: startTLS,
            clientAuth: clientAuth)
        self.init(
            spiffeID: checked.spiffeID, serverName: checked.serverName, startTLS: checked.startTLS,
            clientAuthRequired: checked.clientAuthRequired, timeout: timeout)
    }
}

/// An allow-list entry for `/probe` targets: `host:port` with `*` (any run of characters) and `?`
/// (one character). No character classes, so an IPv6 `[::1]:443` is written as it is.
public struct ProbeTargetGlob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let characters: [Character]

    public init(_ pattern: String) {
        self.pattern = pattern
        // Host names compare case-insensitively.
        self.characters = Array(pattern.lowercased())
    }

    public var description: String { pattern }

    public func matches(_ address: String) -> Bool {
        Self.match(characters[...], Array(address.lowercased())[...])
    }

    /// Iterative wildcard matching with one backtrack point: linear in practice, never exponential.
    static func match(_ pattern: ArraySlice<Character>, _ text: ArraySlice<Character>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var star: (p: Int, t: Int)?
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.endIndex, pattern[p] == "*" {
                star = (p, t)
                p += 1
            } else if let last = star {
                p = last.p + 1
                t = last.t + 1
                star = (last.p, last.t + 1)
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == "*" { p += 1 }
        return p == pattern.endIndex
    }
}

/// Settings of the `/probe` endpoint (the blackbox_exporter pattern): `probe_modules:`,
/// `probe.allowed_targets`, `probe.max_concurrent`.
public struct ProbeEndpointSettings: Sendable, Hashable {
    public static let defaultMaxConcurrent = 10
    /// Without `X-Prometheus-Scrape-Timeout-Seconds` and a module timeout.
    public static let defaultTimeout: Duration = .seconds(10)
    /// Taken off Prometheus's scrape timeout so the answer arrives before Prometheus gives up
    /// (blackbox_exporter's `--timeout-offset`).
    public static let timeoutOffset = 0.5
    /// The longest probe `/probe` runs, whatever a request asks.
    public static let maximumTimeout = 60.0
    /// The module of a request without `module=`.
    public static let defaultModuleName = "default"

    /// By name; `default` is a plain TLS probe unless configured.
    public var modules: [String: ProbeModule]
    /// Empty: any target (an open `/probe` lets whoever reaches the exporter make it connect
    /// anywhere its network reaches).
    public var allowedTargets: [ProbeTargetGlob]
    /// Probes running at once; more are answered 503.
    public var maxConcurrent: Int

    public init(
        modules: [String: ProbeModule] = [:], allowedTargets: [ProbeTargetGlob] = [],
        maxConcurrent: Int = Self.defaultMaxConcurrent
    ) {
        self.modules = modules
        self.allowedTargets = allowedTargets
        self.maxConcurrent = maxConcurrent
    }

    public func module(named name: String) -> ProbeModule? {
        modules[name] ?? (name == Self.defaultModuleName ? ProbeModule() : nil)
    }
}

/// Why a `/probe` request is not probed; each is `spiffe_probe_endpoint_requests_total{outcome}`.
public enum ProbeRequestOutcome: String, Sendable, CaseIterable {
    /// Probed (whether the probe succeeded is in `spiffe_probe_success`).
    case probed
    /// No or an unparsable `target`, an unknown module, a bad timeout header: 400.
    case badRequest = "bad_request"
    /// The target matches no `probe.allowed_targets` entry: 403.
    case notAllowed = "not_allowed"
    /// `probe.max_concurrent` probes were already running: 503.
    case tooMany = "too_many"
}

/// A `/probe` request checked against the settings: what to probe and for how long.
public struct ProbeRequest: Sendable, Equatable {
    public var target: ProbeTarget
    public var moduleName: String
    /// Seconds the probe may take.
    public var timeout: Double

    public struct Rejection: Error, Sendable, Equatable {
        public var outcome: ProbeRequestOutcome
        /// The text of the error response.
        public var message: String
    }

    /// Checks the query parameters and Prometheus's timeout header.
    ///
    /// The probe's timeout is the scrape timeout less ``ProbeEndpointSettings/timeoutOffset``,
    /// lowered to the module's timeout, and at most ``ProbeEndpointSettings/maximumTimeout``.
    public static func resolve(
        target: String?, module: String?, scrapeTimeoutHeader: String?, settings: ProbeEndpointSettings
    ) -> Result<ProbeRequest, Rejection> {
        guard let target, !target.isEmpty else {
            return .failure(Rejection(outcome: .badRequest, message: "target parameter is missing"))
        }
        let moduleName = module.flatMap { $0.isEmpty ? nil : $0 } ?? ProbeEndpointSettings.defaultModuleName
        guard let chosen = settings.module(named: moduleName) else {
            return .failure(Rejection(outcome: .badRequest, message: "unknown module \(Self.quoted(moduleName))"))
        }
        var probeTarget: ProbeTarget
        do {
            probeTarget = try ProbeTarget(
                name: "probe", address: target, spiffeID: chosen.spiffeID, serverName: chosen.serverName,
                startTLS: chosen.startTLS?.rawValue, clientAuth: chosen.clientAuthRequired ? "required" : nil)
        } catch {
            return .failure(
                Rejection(outcome: .badRequest, message: "target \(Self.quoted(target)) is not host:port (\(error.code.rawValue))"))
        }
        // The label is the target as asked for, the `__param_target` Prometheus relabels from.
        probeTarget.name = target
        if !settings.allowedTargets.isEmpty, !settings.allowedTargets.contains(where: { $0.matches(probeTarget.address) }) {
            return .failure(
                Rejection(outcome: .notAllowed, message: "target \(Self.quoted(target)) is not in probe.allowed_targets"))
        }
        var timeout = chosen.timeout?.seconds ?? ProbeEndpointSettings.defaultTimeout.seconds
        if let header = scrapeTimeoutHeader {
            guard let scrape = Double(header.trimmingCharacters(in: .whitespaces)), scrape.isFinite, scrape > 0 else {
                return .failure(
                    Rejection(
                        outcome: .badRequest,
                        message: "X-Prometheus-Scrape-Timeout-Seconds \(Self.quoted(header)) is not a positive number"))
            }
            // A module timeout only lowers Prometheus's; without one the scrape timeout rules.
            let allowed = max(scrape - ProbeEndpointSettings.timeoutOffset, scrape / 2)
            timeout = chosen.timeout.map { min($0.seconds, allowed) } ?? allowed
        }
        timeout = min(timeout, ProbeEndpointSettings.maximumTimeout)
        return .success(ProbeRequest(target: probeTarget, moduleName: moduleName, timeout: timeout))
    }

    /// A request's text in an answer: bounded, without control characters.
    static func quoted(_ text: String) -> String {
        let cleaned = String(text.prefix(200).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return "\"\(cleaned)\(text.count > 200 ? "…" : "")\""
    }
}

/// What `GET /probe` answers: the probe's series, or an error text.
public struct ProbeEndpointAnswer: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func error(_ status: Int, _ message: String) -> ProbeEndpointAnswer {
        ProbeEndpointAnswer(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8))
    }
}

/// Serves `GET /probe`; the HTTP layer only passes the request on.
public protocol ProbeEndpointProvider: Sendable {
    func answer(
        target: String?, module: String?, scrapeTimeoutHeader: String?, format: ExpositionFormat
    ) async -> ProbeEndpointAnswer
}
