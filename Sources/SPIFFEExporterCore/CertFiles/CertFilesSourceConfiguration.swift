import Foundation

/// A bundle file for another trust domain. The trust domain may be left out: it is then taken from
/// the `spiffe://<trust-domain>` URI SAN that SPIRE puts in its CA certificates.
public struct FederatedBundleFile: Sendable, Hashable {
    public var trustDomain: String?
    public var fileName: String

    public init(trustDomain: String? = nil, fileName: String) {
        self.trustDomain = trustDomain
        self.fileName = fileName
    }
}

/// File names inside a spiffe-helper `cert_dir`. spiffe-helper itself has no defaults; these are the
/// names its README uses. A `nil` key or bundle file name means "not written": the key/cert match
/// or the chain check is then not possible and reported as such by the SVID checks.
public struct SPIFFEHelperFileNames: Sendable, Hashable {
    public var svid: String
    public var key: String?
    public var bundle: String?
    /// Extra bundle files for federated trust domains.
    public var federatedBundles: [FederatedBundleFile]
    /// JWT-SVID token files (`jwt_svids[].jwt_svid_file_name`).
    public var jwtSVIDs: [String]
    /// The JWT bundle file (`jwt_bundle_file_name`).
    public var jwtBundle: String?

    public static let defaultSVID = "svid.pem"
    public static let defaultKey = "svid_key.pem"
    public static let defaultBundle = "svid_bundle.pem"

    public init(
        svid: String = Self.defaultSVID, key: String? = Self.defaultKey, bundle: String? = Self.defaultBundle,
        federatedBundles: [FederatedBundleFile] = [], jwtSVIDs: [String] = [], jwtBundle: String? = nil
    ) {
        self.svid = svid
        self.key = key
        self.bundle = bundle
        self.federatedBundles = federatedBundles
        self.jwtSVIDs = jwtSVIDs
        self.jwtBundle = jwtBundle
    }

    /// Every file name, in the order spiffe-helper writes them.
    public var all: [String] {
        [svid] + [key, bundle].compactMap { $0 } + federatedBundles.map(\.fileName) + jwtSVIDs
            + [jwtBundle].compactMap { $0 }
    }

    /// A name inside the directory: not empty, no `/`, not `.` or `..`.
    public static func isValidFileName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && name != "." && name != ".."
    }

    /// Every name valid, and no file named twice.
    public func validate() throws(CertFilesConfigurationError) {
        let names = all
        for file in names where !Self.isValidFileName(file) {
            throw .invalidValue("invalid file name \"\(file)\" (a name inside the directory)")
        }
        guard Set(names).count == names.count else {
            throw .invalidValue("the same file name is used for two files")
        }
    }
}

/// One named certificate-file source, as the flags (and later the config file) describe it. A plain
/// value: defaults are applied here, ``validate()`` says what is wrong.
public struct CertFilesSourceConfiguration: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A spiffe-helper `cert_dir`: one X.509-SVID (cert, key, bundle) plus optional extra files.
        case spiffeHelperDirectory(path: String, files: SPIFFEHelperFileNames)
        /// PEM (or DER) certificates matched by glob patterns, e.g. a server's own TLS certificate.
        case glob(patterns: [String])
        /// A bundle of one trust domain's CA certificates (`--collector.bundle-file`): the agent's
        /// `trust_bundle_path`, a mounted `spire-bundle` ConfigMap. A channel of its own for the
        /// trust bundle consistency families.
        case bundleFile(path: String, trustDomain: String)
    }

    /// The `source` label value.
    public var name: String
    public var kind: Kind
    /// Full re-read period (the safety net behind inotify); jittered by ±10 %.
    public var refreshInterval: Duration
    /// Files larger than this are refused (`file_too_large`) without being read.
    public var maxFileSize: Int
    /// How long to wait before re-reading a file that looked half-written (`parse_error`,
    /// `key_mismatch`, `not_found` right after a change).
    public var settleDelay: Duration
    /// A source that keeps changing and keeps looking half-written is reported after this long.
    public var maxSettle: Duration

    public static let defaultRefreshInterval: Duration = .seconds(60)
    public static let minimumRefreshInterval: Duration = .seconds(1)
    public static let defaultMaxFileSize = 1 << 20
    public static let defaultSettleDelay: Duration = .milliseconds(200)
    /// The source name of globs given without `NAME=`.
    public static let defaultGlobSourceName = "cert_files"

    public init(
        name: String,
        kind: Kind,
        refreshInterval: Duration = Self.defaultRefreshInterval,
        maxFileSize: Int = Self.defaultMaxFileSize,
        settleDelay: Duration = Self.defaultSettleDelay,
        maxSettle: Duration? = nil
    ) {
        self.name = name
        self.kind = kind
        self.refreshInterval = refreshInterval
        self.maxFileSize = maxFileSize
        self.settleDelay = settleDelay
        self.maxSettle = maxSettle ?? max(.seconds(2), settleDelay * 10)
    }

    public func validate() throws(CertFilesConfigurationError) {
        guard CertFilesFlags.isValidSourceName(name) else { throw .invalidSourceName(name) }
        guard refreshInterval >= Self.minimumRefreshInterval else {
            throw .invalidValue("refresh interval must be at least 1s")
        }
        guard maxFileSize > 0 else { throw .invalidValue("max file size must be positive") }
        guard settleDelay >= .zero, maxSettle >= settleDelay else {
            throw .invalidValue("settle delay must be between 0 and the maximum settle time")
        }
        switch kind {
        case .spiffeHelperDirectory(let path, let files):
            guard !path.isEmpty else { throw .invalidValue("source \(name): empty directory path") }
            do {
                try files.validate()
            } catch {
                throw .invalidValue("source \(name): \(error)")
            }
        case .bundleFile(let path, let trustDomain):
            guard !path.isEmpty else { throw .invalidValue("source \(name): empty bundle file path") }
            guard CertFilesFlags.isValidTrustDomain(trustDomain) else {
                throw .invalidValue("source \(name): invalid trust domain \"\(trustDomain)\"")
            }
        case .glob(let patterns):
            guard !patterns.isEmpty else { throw .invalidValue("source \(name): no glob pattern") }
            for pattern in patterns {
                do {
                    _ = try GlobPattern(pattern)
                } catch {
                    throw .invalidGlob(pattern, "\(error)")
                }
            }
        }
    }
}

public enum CertFilesConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidSourceName(String)
    case missingName(String)
    case duplicateSource(String)
    case invalidGlob(String, String)
    case invalidSize(String)
    case invalidValue(String)

    public var description: String {
        switch self {
        case .invalidSourceName(let name):
            "invalid source name \"\(name)\": use letters, digits, '_', '-' or '.', starting with a letter"
        case .missingName(let text): "expected NAME=PATH, got \"\(text)\""
        case .duplicateSource(let name): "source name \"\(name)\" is used twice"
        case .invalidGlob(let pattern, let why): "invalid glob \"\(pattern)\": \(why)"
        case .invalidSize(let text): "invalid size \"\(text)\" (examples: 1048576, 512KiB, 1MiB, 2MB)"
        case .invalidValue(let text): text
        }
    }
}
