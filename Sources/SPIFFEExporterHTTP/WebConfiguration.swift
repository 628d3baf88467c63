import Foundation
import SPIFFEExporterCore
import Yams

/// The `--web.config.file` contents: prometheus/exporter-toolkit's web configuration format
/// (`tls_server_config`, `http_server_config`, `basic_auth_users`) plus this exporter's extension
/// `spiffe_tls_config` (serve over mTLS with the exporter's own X.509-SVID). See
/// docs/web-configuration.md.
///
/// Parsing is strict, as exporter-toolkit's `yaml.UnmarshalStrict`: an unknown key is an error.
/// Defaults are applied while decoding; every rule is checked here, next to the schema, and every
/// error names the file and line it is about.
public struct WebConfiguration: Sendable, Equatable {
    /// TLS with certificate files; `nil` serves plain HTTP (unless ``spiffeTLS`` is set).
    public var tlsServer: TLSServerConfiguration?
    public var httpServer: HTTPServerConfiguration
    /// User name to bcrypt hash. Empty: no authentication.
    public var basicAuthUsers: [String: String]
    /// Extension: mTLS with the exporter's own SVID; exclusive with ``tlsServer``.
    public var spiffeTLS: SPIFFETLSConfiguration?
    /// Settings accepted for compatibility but not applied (unsupported cipher suites and the like).
    public var warnings: [String]

    public init(
        tlsServer: TLSServerConfiguration? = nil,
        httpServer: HTTPServerConfiguration = HTTPServerConfiguration(),
        basicAuthUsers: [String: String] = [:],
        spiffeTLS: SPIFFETLSConfiguration? = nil,
        warnings: [String] = []
    ) {
        self.tlsServer = tlsServer
        self.httpServer = httpServer
        self.basicAuthUsers = basicAuthUsers
        self.spiffeTLS = spiffeTLS
        self.warnings = warnings
    }

    /// Whether connections are served over TLS.
    public var usesTLS: Bool { tlsServer != nil || spiffeTLS != nil }
}

/// exporter-toolkit's `tls_server_config`.
public struct TLSServerConfiguration: Sendable, Equatable {
    /// PEM certificate chain (leaf first); resolved against the config file's directory.
    public var certFile: String
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    public var keyFile: String
    public var clientAuthType: ClientAuthType
    /// PEM CA certificates that client certificates must chain to.
    public var clientCAFile: String?
    public var minVersion: TLSProtocolVersion
    public var maxVersion: TLSProtocolVersion
    /// Cipher suite names (Go spelling) that are applied; unsupported ones are dropped with a warning.
    public var cipherSuites: [String]
    /// Accepted for compatibility; BoringSSL servers always prefer their own order.
    public var preferServerCipherSuites: Bool
    /// When non-empty, a client certificate must carry one of these SANs (DNS, IP, email or URI).
    public var clientAllowedSANs: [String]

    public init(
        certFile: String,
        keyFile: String,
        clientAuthType: ClientAuthType = .noClientCert,
        clientCAFile: String? = nil,
        minVersion: TLSProtocolVersion = .tls12,
        maxVersion: TLSProtocolVersion = .tls13,
        cipherSuites: [String] = [],
        preferServerCipherSuites: Bool = true,
        clientAllowedSANs: [String] = []
    ) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientAuthType = clientAuthType
        self.clientCAFile = clientCAFile
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.cipherSuites = cipherSuites
        self.preferServerCipherSuites = preferServerCipherSuites
        self.clientAllowedSANs = clientAllowedSANs
    }
}

/// exporter-toolkit's `client_auth_type` values (Go's `tls.ClientAuthType`).
public enum ClientAuthType: String, Sendable, CaseIterable {
    case noClientCert = "NoClientCert"
    /// Asks for a certificate, does not require or verify it.
    case requestClientCert = "RequestClientCert"
    /// Requires a certificate, does not verify it.
    case requireAnyClientCert = "RequireAnyClientCert"
    case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
    case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

    /// Whether a certificate is asked for at all.
    public var requestsCertificate: Bool { self != .noClientCert }
    /// Whether a presented certificate is verified against `client_ca_file`.
    public var verifiesCertificate: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    /// Whether a connection without a client certificate is refused.
    public var requiresCertificate: Bool { self == .requireAnyClientCert || self == .requireAndVerifyClientCert }
}

/// `min_version` / `max_version` values.
public enum TLSProtocolVersion: String, Sendable, CaseIterable, Comparable {
    case tls10 = "TLS10"
    case tls11 = "TLS11"
    case tls12 = "TLS12"
    case tls13 = "TLS13"

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// exporter-toolkit's `http_server_config`.
public struct HTTPServerConfiguration: Sendable, Equatable {
    /// Accepted for compatibility; the exporter serves HTTP/1.1 and does not advertise h2 in ALPN,
    /// so clients that offer HTTP/2 use HTTP/1.1.
    public var http2: Bool
    /// Extra response headers, from exporter-toolkit's allow-list.
    public var headers: [String: String]

    public init(http2: Bool = true, headers: [String: String] = [:]) {
        self.http2 = http2
        self.headers = headers
    }

    /// The headers exporter-toolkit lets an operator set, with the values it allows (nil: any).
    public static let allowedHeaders: [String: [String]?] = [
        "Strict-Transport-Security": nil,
        "X-Content-Type-Options": ["nosniff"],
        "X-Frame-Options": ["deny", "sameorigin"],
        "X-XSS-Protection": nil,
        "Content-Security-Policy": nil,
    ]
}

/// Extension (not part of exporter-toolkit): serve over mTLS with the exporter's own X.509-SVID,
/// accepting only clients whose SVID verifies against their trust domain's bundle and whose SPIFFE
/// ID is allowed.
public struct SPIFFETLSConfiguration: Sendable, Equatable {
    /// Where the SVID comes from: the name of an identity source (`workload_api`).
    public var source: String
    /// Which of the source's SVIDs to serve; `nil` serves the first (the Workload API's default).
    public var spiffeID: String?
    /// Client SPIFFE IDs allowed, exactly.
    public var allowedSPIFFEIDs: [String]
    /// Trust domains whose every SPIFFE ID is allowed.
    public var allowedTrustDomains: [String]
    public var minVersion: TLSProtocolVersion

    public init(
        source: String = "workload_api",
        spiffeID: String? = nil,
        allowedSPIFFEIDs: [String] = [],
        allowedTrustDomains: [String] = [],
        minVersion: TLSProtocolVersion = .tls12
    ) {
        self.source = source
        self.spiffeID = spiffeID
        self.allowedSPIFFEIDs = allowedSPIFFEIDs
        self.allowedTrustDomains = allowedTrustDomains
        self.minVersion = minVersion
    }

    /// Whether a verified client SPIFFE ID may scrape.
    public func allows(_ id: SPIFFEID) -> Bool {
        allowedSPIFFEIDs.contains(id.description) || allowedTrustDomains.contains(id.trustDomain)
    }
}

/// A problem with the web configuration, located in the file where possible. Equal by code.
public struct WebConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        /// The file cannot be read.
        public static let unreadable = Code(name: "unreadable")
        /// The YAML itself does not parse (Yams' message).
        public static let invalidYAML = Code(name: "invalid_yaml")
        /// A key the schema does not know.
        public static let unknownKey = Code(name: "unknown_key")
        /// A value of the wrong YAML type (mapping, list, string, bool).
        public static let wrongType = Code(name: "wrong_type")
        /// A value outside its vocabulary or format.
        public static let invalidValue = Code(name: "invalid_value")
        /// A required setting is absent.
        public static let missingValue = Code(name: "missing_value")
        /// Settings that cannot be combined.
        public static let conflict = Code(name: "conflict")
        /// A referenced certificate or key file cannot be loaded.
        public static let badTLSFile = Code(name: "bad_tls_file")
    }

    public var code: Code
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?

    public init(code: Code, message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column: message`, as compilers and exporter-toolkit's YAML errors print it.
    public var description: String {
        var location = file ?? ""
        if let line {
            location += location.isEmpty ? "line \(line)" : ":\(line)"
            if let column { location += ":\(column)" }
        }
        return location.isEmpty ? message : "\(location): \(message)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}

extension WebConfiguration {
    /// Reads and parses a web configuration file; relative paths in it are resolved against the
    /// file's directory, as exporter-toolkit does.
    public static func load(path: String) throws(WebConfigurationError) -> WebConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw WebConfigurationError(code: .unreadable, message: "cannot read web config file: \(error)", file: path)
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(yaml: text, file: path, baseDirectory: directory.isEmpty ? "." : directory)
    }

    /// Parses web configuration text. `file` is only used in error messages; relative file paths
    /// are resolved against `baseDirectory`.
    public static func parse(
        yaml text: String, file: String? = nil, baseDirectory: String = "."
    ) throws(WebConfigurationError) -> WebConfiguration {
        var decoder = WebConfigurationDecoder(file: file, baseDirectory: baseDirectory)
        return try decoder.decode(text)
    }
}

/// Walks the composed YAML node tree so every error can carry the line of the offending node.
struct WebConfigurationDecoder {
    let file: String?
    let baseDirectory: String
    var warnings: [String] = []

    init(file: String?, baseDirectory: String) {
        self.file = file
        self.baseDirectory = baseDirectory
    }

    mutating func decode(_ text: String) throws(WebConfigurationError) -> WebConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlError(error)
        } catch {
            throw WebConfigurationError(code: .invalidYAML, message: "\(error)", file: file)
        }
        // An empty file is a valid configuration: plain HTTP, no authentication.
        guard let root, !isNull(root) else { return WebConfiguration() }
        let top = try mapping(root, "the web configuration", allowed: Self.topLevelKeys)

        var configuration = WebConfiguration()
        if let node = top["tls_server_config"] {
            configuration.tlsServer = try tlsServer(node)
        }
        if let node = top["http_server_config"] {
            configuration.httpServer = try httpServer(node)
        }
        if let node = top["basic_auth_users"] {
            configuration.basicAuthUsers = try basicAuthUsers(node)
        }
        if let node = top["spiffe_tls_config"] {
            configuration.spiffeTLS = try spiffeTLS(node)
            if configuration.tlsServer != nil, let tlsNode = top["tls_server_config"] {
                throw error(
                    .conflict,
                    "tls_server_config and spiffe_tls_config cannot both be set: the listener serves one certificate",
                    at: tlsNode)
            }
        }
        configuration.warnings = warnings
        return configuration
    }

    static let topLevelKeys = ["tls_server_config", "http_server_config", "basic_auth_users", "spiffe_tls_config"]
    static let tlsKeys = [
        "cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version", "cipher_suites",
        "curve_preferences", "prefer_server_cipher_suites", "client_allowed_sans",
    ]
    static let httpKeys = ["http2", "headers"]
    static let spiffeKeys = ["source", "spiffe_id", "allowed_spiffe_ids", "allowed_trust_domains", "min_version"]

    // MARK: Sections

    mutating func tlsServer(_ node: Node) throws(WebConfigurationError) -> TLSServerConfiguration? {
        if isNull(node) { return nil }
        let fields = try mapping(node, "tls_server_config", allowed: Self.tlsKeys)
        var certFile = ""
        var keyFile = ""
        if let node = fields["cert_file"] { certFile = try string(node, "tls_server_config.cert_file") }
        if let node = fields["key_file"] { keyFile = try string(node, "tls_server_config.key_file") }
        if certFile.isEmpty && keyFile.isEmpty {
            // exporter-toolkit serves plain HTTP when neither is set. Anything else in the section
            // would then be silently ignored, which is never what the operator meant.
            if let other = fields.entries.first(where: {
                $0.key != "cert_file" && $0.key != "key_file" && !isNull($0.value)
            }) {
                throw error(
                    .missingValue,
                    "tls_server_config sets \(other.key) but neither cert_file nor key_file, so TLS would be off",
                    at: other.value)
            }
            return nil
        }
        guard !certFile.isEmpty else { throw error(.missingValue, "tls_server_config: missing cert_file", at: node) }
        guard !keyFile.isEmpty else { throw error(.missingValue, "tls_server_config: missing key_file", at: node) }

        var tls = TLSServerConfiguration(certFile: resolve(certFile), keyFile: resolve(keyFile))
        if let node = fields["client_auth_type"] {
            let text = try string(node, "tls_server_config.client_auth_type")
            switch text {
            case "", "NoClientCert": tls.clientAuthType = .noClientCert
            // exporter-toolkit keeps this older spelling working.
            case "RequireClientCert": tls.clientAuthType = .requireAnyClientCert
            default:
                guard let value = ClientAuthType(rawValue: text) else {
                    throw error(
                        .invalidValue,
                        "tls_server_config.client_auth_type: invalid value \(quoted(text)); expected one of "
                            + ClientAuthType.allCases.map(\.rawValue).joined(separator: ", "),
                        at: node)
                }
                tls.clientAuthType = value
            }
        }
        if let node = fields["client_ca_file"] {
            let path = try string(node, "tls_server_config.client_ca_file")
            if !path.isEmpty { tls.clientCAFile = resolve(path) }
        }
        if let node = fields["min_version"] { tls.minVersion = try version(node, "tls_server_config.min_version") }
        if let node = fields["max_version"] { tls.maxVersion = try version(node, "tls_server_config.max_version") }
        if tls.minVersion > tls.maxVersion, let node = fields["min_version"] ?? fields["max_version"] {
            throw error(
                .conflict,
                "tls_server_config: min_version \(tls.minVersion.rawValue) is above max_version "
                    + tls.maxVersion.rawValue,
                at: node)
        }
        if let node = fields["cipher_suites"] {
            for (name, item) in try stringList(node, "tls_server_config.cipher_suites") {
                if TLSCipherSuites.byGoName[name] != nil {
                    tls.cipherSuites.append(name)
                } else if TLSCipherSuites.goNames.contains(name) {
                    warnings.append(
                        "\(location(of: item))tls_server_config.cipher_suites: \(name) is not supported by this "
                            + "server; ignored"
                    )
                } else {
                    throw error(
                        .invalidValue, "tls_server_config.cipher_suites: unknown cipher \(quoted(name))", at: item)
                }
            }
            if tls.cipherSuites.isEmpty && !(node.sequence?.isEmpty ?? true) {
                warnings.append(
                    "\(location(of: node))tls_server_config.cipher_suites: none supported; using the defaults")
            }
        }
        if let node = fields["curve_preferences"] {
            _ = try stringList(node, "tls_server_config.curve_preferences")
            warnings.append("\(location(of: node))tls_server_config.curve_preferences is not supported; ignored")
        }
        if let node = fields["prefer_server_cipher_suites"] {
            tls.preferServerCipherSuites = try bool(node, "tls_server_config.prefer_server_cipher_suites")
        }
        if let node = fields["client_allowed_sans"] {
            tls.clientAllowedSANs = try stringList(node, "tls_server_config.client_allowed_sans").map(\.value)
            if !tls.clientAllowedSANs.isEmpty && !tls.clientAuthType.requestsCertificate {
                throw error(
                    .conflict,
                    "tls_server_config.client_allowed_sans needs a client_auth_type that asks for client certificates",
                    at: node)
            }
        }
        if tls.clientCAFile != nil && !tls.clientAuthType.requestsCertificate, let node = fields["client_ca_file"] {
            // exporter-toolkit's own wording.
            throw error(.conflict, "Client CA's have been configured without a Client Auth Policy", at: node)
        }
        if tls.clientAuthType.verifiesCertificate && tls.clientCAFile == nil {
            throw error(
                .missingValue,
                "tls_server_config: client_auth_type \(tls.clientAuthType.rawValue) needs client_ca_file to verify "
                    + "clients against",
                at: fields["client_auth_type"] ?? node)
        }
        return tls
    }

    mutating func httpServer(_ node: Node) throws(WebConfigurationError) -> HTTPServerConfiguration {
        var http = HTTPServerConfiguration()
        if isNull(node) { return http }
        let fields = try mapping(node, "http_server_config", allowed: Self.httpKeys)
        if let node = fields["http2"] { http.http2 = try bool(node, "http_server_config.http2") }
        if let node = fields["headers"], !isNull(node) {
            let headers = try mapping(node, "http_server_config.headers", allowed: nil)
            for (name, valueNode) in headers.entries {
                let value = try string(valueNode, "http_server_config.headers.\(name)")
                guard let allowed = HTTPServerConfiguration.allowedHeaders[name] else {
                    throw error(
                        .invalidValue, "HTTP header \(quoted(name)) can not be configured", at: headers.keyNodes[name]!)
                }
                if let allowed, !allowed.contains(value) {
                    throw error(
                        .invalidValue,
                        "invalid value for \(name). Expected one of: \(allowed.map(quoted).joined(separator: ", ")), "
                            + "but got: \(quoted(value))",
                        at: valueNode)
                }
                http.headers[name] = value
            }
        }
        return http
    }

    mutating func basicAuthUsers(_ node: Node) throws(WebConfigurationError) -> [String: String] {
        if isNull(node) { return [:] }
        let users = try mapping(node, "basic_auth_users", allowed: nil)
        var result: [String: String] = [:]
        for (user, hashNode) in users.entries {
            let hash = try string(hashNode, "basic_auth_users.\(user)")
            if user.contains(":") {
                throw error(
                    .invalidValue,
                    "basic_auth_users: user name \(quoted(user)) contains ':', which HTTP basic auth cannot send",
                    at: users.keyNodes[user]!)
            }
            guard BcryptHash.isWellFormed(hash) else {
                throw error(
                    .invalidValue,
                    "basic_auth_users.\(user): not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost and 53 "
                        + "characters, as `htpasswd -nBC 10` prints)",
                    at: hashNode)
            }
            result[user] = hash
        }
        return result
    }

    mutating func spiffeTLS(_ node: Node) throws(WebConfigurationError) -> SPIFFETLSConfiguration {
        let fields = try mapping(node, "spiffe_tls_config", allowed: Self.spiffeKeys)
        var spiffe = SPIFFETLSConfiguration()
        if let node = fields["source"] {
            let source = try string(node, "spiffe_tls_config.source")
            guard !source.isEmpty else {
                throw error(.invalidValue, "spiffe_tls_config.source must not be empty", at: node)
            }
            spiffe.source = source
        }
        if let node = fields["spiffe_id"], !isNull(node) {
            let text = try string(node, "spiffe_tls_config.spiffe_id")
            spiffe.spiffeID = try spiffeID(text, "spiffe_tls_config.spiffe_id", at: node).description
        }
        if let node = fields["allowed_spiffe_ids"] {
            for (text, item) in try stringList(node, "spiffe_tls_config.allowed_spiffe_ids") {
                spiffe.allowedSPIFFEIDs.append(
                    try spiffeID(text, "spiffe_tls_config.allowed_spiffe_ids", at: item).description)
            }
        }
        if let node = fields["allowed_trust_domains"] {
            for (text, item) in try stringList(node, "spiffe_tls_config.allowed_trust_domains") {
                do {
                    spiffe.allowedTrustDomains.append(try SPIFFEID.trustDomain(parsing: text))
                } catch {
                    throw self.error(
                        .invalidValue,
                        "spiffe_tls_config.allowed_trust_domains: \(quoted(text)) is not a trust domain: \(error)",
                        at: item)
                }
            }
        }
        if let node = fields["min_version"] {
            spiffe.minVersion = try version(node, "spiffe_tls_config.min_version")
            guard spiffe.minVersion >= .tls12 else {
                throw error(.invalidValue, "spiffe_tls_config.min_version must be TLS12 or TLS13", at: node)
            }
        }
        if spiffe.allowedSPIFFEIDs.isEmpty && spiffe.allowedTrustDomains.isEmpty {
            throw error(
                .missingValue,
                "spiffe_tls_config needs allowed_spiffe_ids or allowed_trust_domains: with neither, no client "
                    + "could scrape",
                at: node)
        }
        return spiffe
    }

    // MARK: Typed access with locations

    /// A YAML mapping with string keys, in document order.
    struct Fields {
        var entries: [(key: String, value: Node)] = []
        var keyNodes: [String: Node] = [:]

        subscript(key: String) -> Node? { entries.first { $0.key == key }?.value }
    }

    func mapping(_ node: Node, _ what: String, allowed: [String]?) throws(WebConfigurationError) -> Fields {
        guard case .mapping(let mapping) = node else {
            throw error(.wrongType, "\(what) must be a mapping, not \(kind(of: node))", at: node)
        }
        var fields = Fields()
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw error(.wrongType, "\(what): keys must be strings", at: keyNode)
            }
            let key = scalar.string
            if let allowed, !allowed.contains(key) {
                let context = what == "the web configuration" ? "" : " in \(what)"
                throw error(
                    .unknownKey,
                    "unknown key \(quoted(key))\(context); expected one of \(allowed.joined(separator: ", "))",
                    at: keyNode)
            }
            fields.entries.append((key, value))
            fields.keyNodes[key] = keyNode
        }
        return fields
    }

    func string(_ node: Node, _ what: String) throws(WebConfigurationError) -> String {
        if isNull(node) { return "" }
        guard case .scalar(let scalar) = node else {
            throw error(.wrongType, "\(what) must be a string, not \(kind(of: node))", at: node)
        }
        return scalar.string
    }

    func bool(_ node: Node, _ what: String) throws(WebConfigurationError) -> Bool {
        guard case .scalar = node, let value = node.bool else {
            throw error(.wrongType, "\(what) must be true or false", at: node)
        }
        return value
    }

    func stringList(_ node: Node, _ what: String) throws(WebConfigurationError) -> [(value: String, node: Node)] {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            throw error(.wrongType, "\(what) must be a list, not \(kind(of: node))", at: node)
        }
        var items: [(value: String, node: Node)] = []
        for item in sequence {
            items.append((try string(item, what + " item"), item))
        }
        return items
    }

    func version(_ node: Node, _ what: String) throws(WebConfigurationError) -> TLSProtocolVersion {
        let text = try string(node, what)
        guard let version = TLSProtocolVersion(rawValue: text) else {
            throw error(
                .invalidValue,
                "\(what): unknown TLS version \(quoted(text)); expected one of "
                    + TLSProtocolVersion.allCases.map(\.rawValue).joined(separator: ", "),
                at: node)
        }
        return version
    }

    func spiffeID(_ text: String, _ what: String, at node: Node) throws(WebConfigurationError) -> SPIFFEID {
        let id: SPIFFEID
        do {
            id = try SPIFFEID(parsing: text)
        } catch {
            throw self.error(.invalidValue, "\(what): \(quoted(text)) is not a SPIFFE ID: \(error)", at: node)
        }
        guard !id.isTrustDomainID else {
            throw error(
                .invalidValue,
                "\(what): \(quoted(text)) is a trust domain ID; use allowed_trust_domains for a whole trust domain",
                at: node)
        }
        return id
    }

    func isNull(_ node: Node) -> Bool {
        if case .scalar = node, node.null != nil { return true }
        return false
    }

    func kind(of node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar: "a scalar"
        case .alias: "an alias"
        }
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }

    func quoted(_ text: String) -> String { "\"" + text + "\"" }

    func location(of node: Node) -> String {
        let mark = node.mark
        switch (file, mark) {
        case (let file?, let mark?): return "\(file):\(mark.line): "
        case (nil, let mark?): return "line \(mark.line): "
        case (let file?, nil): return "\(file): "
        case (nil, nil): return ""
        }
    }

    func error(_ code: WebConfigurationError.Code, _ message: String, at node: Node) -> WebConfigurationError {
        WebConfigurationError(
            code: code, message: message, file: file, line: node.mark?.line, column: node.mark?.column)
    }

    func yamlError(_ error: YamlError) -> WebConfigurationError {
        // Yams' description starts with "line:column: "; keep its problem text and snippet.
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return WebConfigurationError(
                code: .invalidYAML, message: "invalid YAML: \(problem)", file: file, line: mark.line,
                column: mark.column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return WebConfigurationError(
                code: .invalidYAML,
                message: "invalid YAML: duplicate key(s) \(duplicates.sorted().map(quoted).joined(separator: ", "))",
                file: file, line: context.mark.line, column: context.mark.column)
        default:
            return WebConfigurationError(code: .invalidYAML, message: "invalid YAML: \(error)", file: file)
        }
    }
}

/// Shape check of bcrypt hashes, so a typo is a startup error rather than a login that never works.
enum BcryptHash {
    private static let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// `$2a$`, `$2b$` or `$2y$`, a two-digit cost 04...31, `$`, 22 salt + 31 hash characters.
    static func isWellFormed(_ hash: String) -> Bool {
        let chars = Array(hash)
        guard chars.count == 60, chars[0] == "$", chars[1] == "2", "aby".contains(chars[2]), chars[3] == "$",
            let cost = Int(String(chars[4...5])), (4...31).contains(cost), chars[6] == "$"
        else { return false }
        return chars[7...].allSatisfy(alphabet.contains)
    }

    /// Go and htpasswd write `$2y$`, which is `$2b$` under another name; the C bcrypt knows only
    /// `$2a$`/`$2b$`.
    static func normalized(_ hash: String) -> String {
        hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
    }
}
