import Foundation

/// The health of one source as every consumer sees it: `/metrics` (`spiffe_workload_api_up`),
/// `/readyz`, `/status`, `check` and `--strict` all render this one value.
public struct SourceHealth: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case workloadAPI = "workload_api"
        case certFiles = "cert_files"
        case delegated
        /// The Delegated Identity API's bundle stream (source `delegated`).
        case delegatedBundles = "delegated_bundles"
        /// A probed TLS server (`target` label on /metrics).
        case probe
        /// The SPIRE agent itself (Debug API, data file): `spiffe_agent_up` on /metrics.
        case agent
        /// An Envoy admin endpoint (`/certs`): `spiffe_envoy_up` on /metrics.
        case envoy
        /// A federation bundle endpoint (`spiffe_federation_bundle_up` on /metrics).
        case federation

        /// Whether the source has a `spiffe_workload_api_up` series (a stream to be up or down).
        public var exportsUpGauge: Bool { self == .workloadAPI || self == .delegated }

        /// Whether the source is up or down at all (files are read, not connected to).
        public var tracksUp: Bool { self != .certFiles }

        /// Whether `/readyz` waits for it: the sources identities come from. Probes, the
        /// delegated bundle stream and the agent are shown on `/status` but never hold readiness back.
        /// A federation bundle endpoint is another trust domain's, so it does not either.
        public var gatesReadiness: Bool {
            self != .probe && self != .delegatedBundles && self != .agent && self != .envoy && self != .federation
        }
    }

    public var source: String
    public var kind: Kind
    /// `nil` when there is nothing to be up or down (a process subscription following no process).
    public var up: Bool?
    /// The source has given a first definite answer (identities, or a definite "none").
    public var synced: Bool
    /// The reason code of the most recent failure; cleared when the source delivers again.
    public var lastFailureReason: String?
    /// When `up` last changed (or the source was registered).
    public var since: Date
    /// What to do about the last failure.
    public var hint: String?

    public init(
        source: String, kind: Kind, up: Bool?, synced: Bool = false, lastFailureReason: String? = nil, since: Date,
        hint: String? = nil
    ) {
        self.source = source
        self.kind = kind
        self.up = up
        self.synced = synced
        self.lastFailureReason = lastFailureReason
        self.since = since
        self.hint = hint
    }

    /// Down, or never synced: what `/status` and `check` flag.
    public var isHealthy: Bool { up != false && synced }
}

/// The rule for a source name written in the config file or in `[SOURCE=]` of a flag value: it
/// becomes the `source` label.
public enum SourceName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
    }
}
