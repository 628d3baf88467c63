import Foundation

/// One federation bundle endpoint to fetch (`--collector.federation.endpoint`, config `federation:`).
public struct FederationEndpointConfiguration: Sendable, Hashable {
    /// How the endpoint's server is authenticated (SPIFFE Federation spec §5).
    public enum Profile: String, CaseIterable, Sendable, Hashable {
        /// Web PKI: the system roots, or `ca_file` when given.
        case httpsWeb = "https_web"
        /// The server presents an SVID with `endpoint_spiffe_id`, verified against the bundle the
        /// exporter already holds for that ID's trust domain.
        case httpsSPIFFE = "https_spiffe"
    }

    public var name: String
    public var trustDomain: String
    public var url: URL
    public var host: String
    public var port: Int
    /// Path and query sent in the request line.
    public var requestTarget: String
    public var profile: Profile
    public var endpointSPIFFEID: SPIFFEID?
    public var caFile: String?

    public init(
        name: String, trustDomain: String, url text: String, profile: Profile = .httpsWeb,
        endpointSPIFFEID: String? = nil, caFile: String? = nil
    ) throws(FederationConfigurationError) {
        guard CertFilesFlags.isValidSourceName(name) else { throw .invalid("invalid endpoint name \"\(name)\"") }
        guard CertFilesFlags.isValidTrustDomain(trustDomain) else {
            throw .invalid("endpoint \(name): invalid trust domain \"\(trustDomain)\"")
        }
        // Bundle endpoints are HTTPS only (spec: both profiles are TLS); plain HTTP would let anyone
        // on the path replace the trust bundle.
        guard let components = URLComponents(string: text), components.scheme?.lowercased() == "https",
            let host = components.host, !host.isEmpty, components.user == nil, components.fragment == nil,
            let url = components.url
        else {
            throw .invalid("endpoint \(name): \"\(text)\" is not an https:// URL with a host")
        }
        let port = components.port ?? 443
        guard (1...65535).contains(port) else { throw .invalid("endpoint \(name): port \(port) out of range") }
        self.name = name
        self.trustDomain = trustDomain
        self.url = url
        self.host = host
        self.port = port
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        self.requestTarget = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
        self.profile = profile
        switch profile {
        case .httpsSPIFFE:
            guard let endpointSPIFFEID else {
                throw .invalid("endpoint \(name): profile https_spiffe needs endpoint_spiffe_id")
            }
            guard let id = try? SPIFFEID(parsing: endpointSPIFFEID) else {
                throw .invalid("endpoint \(name): invalid endpoint_spiffe_id \"\(endpointSPIFFEID)\"")
            }
            guard caFile == nil else { throw .invalid("endpoint \(name): ca_file applies to profile https_web only") }
            self.endpointSPIFFEID = id
            self.caFile = nil
        case .httpsWeb:
            guard endpointSPIFFEID == nil else {
                throw .invalid("endpoint \(name): endpoint_spiffe_id applies to profile https_spiffe only")
            }
            guard caFile.map({ !$0.isEmpty }) ?? true else { throw .invalid("endpoint \(name): empty ca_file") }
            self.endpointSPIFFEID = nil
            self.caFile = caFile
        }
    }

    /// `NAME=TRUST_DOMAIN=URL[,profile=https_web|https_spiffe][,endpoint_spiffe_id=ID][,ca_file=PATH]`.
    /// The URL ends at the first comma (bundle endpoint URLs have no use for one); each option is
    /// given at most once.
    public static func parseFlag(_ text: String) throws(FederationConfigurationError) -> FederationEndpointConfiguration {
        let parts = text.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[2].isEmpty else {
            throw .invalid("expected NAME=TRUST_DOMAIN=URL[,option=value...], got \"\(text)\"")
        }
        let segments = parts[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var options: [String: String] = [:]
        for segment in segments.dropFirst() {
            let pair = segment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pair.count == 2, ["profile", "endpoint_spiffe_id", "ca_file"].contains(pair[0]) else {
                throw .invalid("endpoint \(parts[0]): unknown option \"\(segment)\" (profile, endpoint_spiffe_id, ca_file)")
            }
            guard options.updateValue(pair[1], forKey: pair[0]) == nil else {
                throw .invalid("endpoint \(parts[0]): option \(pair[0]) given twice")
            }
        }
        var profile = Profile.httpsWeb
        if let value = options["profile"] {
            guard let parsed = Profile(rawValue: value) else {
                throw .invalid("endpoint \(parts[0]): unknown profile \"\(value)\" (https_web, https_spiffe)")
            }
            profile = parsed
        }
        return try FederationEndpointConfiguration(
            name: parts[0], trustDomain: parts[1], url: segments[0], profile: profile,
            endpointSPIFFEID: options["endpoint_spiffe_id"], caFile: options["ca_file"])
    }
}

public enum FederationConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let text): text
        }
    }
}
