/// One TLS endpoint the served-certificate probe connects to (`--probe.target`).
public struct ProbeTarget: Sendable, Hashable, CustomStringConvertible {
    /// The `target` label value.
    public var name: String
    /// Host name or IP literal (IPv6 without brackets).
    public var host: String
    public var port: Int
    /// The SPIFFE ID the server must present; `nil` accepts any SVID that chains to the trust
    /// bundle of its trust domain (go-spiffe's `AuthorizeAny`).
    public var spiffeID: String?
    /// TLS server name indication; `nil` sends none.
    public var serverName: String?
    /// The plain-text upgrade spoken before the TLS handshake; `nil` speaks TLS from the first byte.
    public var startTLS: StartTLSProtocol?
    /// `client_auth=required`: the server must refuse a client without a certificate; each probe
    /// also connects once without one to check (`spiffe_probe_client_auth_enforced`).
    public var clientAuthRequired: Bool

    public init(
        name: String, host: String, port: Int, spiffeID: String? = nil, serverName: String? = nil,
        startTLS: StartTLSProtocol? = nil, clientAuthRequired: Bool = false
    ) {
        self.clientAuthRequired = clientAuthRequired
        self.name = name
        self.host = host
        self.port = port
        self.spiffeID = spiffeID
        self.serverName = serverName
        self.startTLS = startTLS
    }

    /// `host:port`, with brackets around an IPv6 literal.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public var description: String {
        var text = "\(name)=\(address)"
        if let spiffeID { text += ",spiffe_id=\(spiffeID)" }
        if let serverName { text += ",sni=\(serverName)" }
        if let startTLS { text += ",starttls=\(startTLS.rawValue)" }
        if clientAuthRequired { text += ",client_auth=required" }
        return text
    }

    /// Parses `NAME=host:port[,spiffe_id=SPIFFE_ID][,sni=SERVER_NAME][,starttls=PROTOCOL][,client_auth=required]`.
    public init(parsing text: String) throws(ProbeConfigurationError) {
        guard let equals = text.firstIndex(of: "=") else { throw .init(.missingName, text) }
        let name = String(text[..<equals])
        let parts = text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
        var spiffeID: String?
        var serverName: String?
        var startTLS: String?
        var clientAuth: String?
        for option in parts.dropFirst() {
            guard let optionEquals = option.firstIndex(of: "=") else { throw .init(.invalidOption, text) }
            let value = String(option[option.index(after: optionEquals)...])
            switch option[..<optionEquals] {
            case "spiffe_id":
                guard spiffeID == nil else { throw .init(.duplicateOption, text) }
                spiffeID = value
            case "sni":
                guard serverName == nil else { throw .init(.duplicateOption, text) }
                serverName = value
            case "starttls":
                guard startTLS == nil else { throw .init(.duplicateOption, text) }
                startTLS = value
            case "client_auth":
                guard clientAuth == nil else { throw .init(.duplicateOption, text) }
                clientAuth = value
            default:
                throw .init(.invalidOption, text)
            }
        }
        try self.init(
            name: name, address: String(parts.first ?? ""), spiffeID: spiffeID, serverName: serverName,
            startTLS: startTLS, clientAuth: clientAuth, text: text)
    }

    /// A target from its parts (a config file entry), checked as ``init(parsing:)`` checks them.
    ///
    /// Without `serverName`, a host name (not an IP literal) is sent as the server name, as any TLS
    /// client does; RFC 6066 forbids IP literals there. The server's certificate is never checked
    /// against the host name: SPIFFE authenticates the SPIFFE ID instead.
    public init(
        name: String, address: String, spiffeID: String?, serverName: String?, startTLS: String? = nil,
        clientAuth: String? = nil
    ) throws(ProbeConfigurationError) {
        var text = "\(name)=\(address)"
        if let spiffeID { text += ",spiffe_id=\(spiffeID)" }
        if let serverName { text += ",sni=\(serverName)" }
        if let startTLS { text += ",starttls=\(startTLS)" }
        if let clientAuth { text += ",client_auth=\(clientAuth)" }
        try self.init(
            name: name, address: address, spiffeID: spiffeID, serverName: serverName, startTLS: startTLS,
            clientAuth: clientAuth, text: text)
    }

    /// `text` is what errors quote: the flag value as given.
    private init(
        name: String, address: String, spiffeID: String?, serverName: String?, startTLS: String?, clientAuth: String?,
        text: String
    ) throws(ProbeConfigurationError) {
        guard Self.isValidName(name) else { throw .init(.invalidName, text) }
        guard !address.isEmpty else { throw .init(.invalidAddress, text) }
        let (host, port) = try Self.parseAddress(address, in: text)
        if let spiffeID {
            guard let id = try? SPIFFEID(parsing: spiffeID), !id.isTrustDomainID else {
                throw .init(.invalidSPIFFEID, text)
            }
        }
        if let serverName, !Self.isValidServerName(serverName) { throw .init(.invalidServerName, text) }
        var upgrade: StartTLSProtocol?
        if let startTLS {
            guard let known = StartTLSProtocol(rawValue: startTLS) else { throw .init(.invalidStartTLS, text) }
            upgrade = known
        }
        // One value today; the option names the policy so that "optional" can join it.
        if let clientAuth, clientAuth != "required" { throw .init(.invalidClientAuth, text) }
        self.init(
            name: name, host: host, port: port, spiffeID: spiffeID,
            serverName: serverName ?? (Self.isIPLiteral(host) ? nil : host), startTLS: upgrade,
            clientAuthRequired: clientAuth != nil)
    }

    /// Parses every `--probe.target` value; target names must be unique.
    public static func parseAll(_ values: [String]) throws(ProbeConfigurationError) -> [ProbeTarget] {
        var targets: [ProbeTarget] = []
        var names: Set<String> = []
        for value in values {
            let target = try ProbeTarget(parsing: value)
            guard names.insert(target.name).inserted else { throw .init(.duplicateName, value) }
            targets.append(target)
        }
        return targets
    }

    /// Target names become `target` label values: a letter, then letters, digits, `_`, `-`, `.`.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 128 else { return false }
        guard first.isASCII, first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "_-.".unicodeScalars.contains(scalar))
        }
    }

    static func parseAddress(_ text: String, in whole: String) throws(ProbeConfigurationError) -> (String, Int) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .init(.invalidAddress, whole) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .init(.invalidAddress, whole) }
            portText = rest.dropFirst()
            guard host.contains(":"), isIPLiteral(String(host)) else { throw .init(.invalidAddress, whole) }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .init(.invalidAddress, whole) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            // An unbracketed IPv6 literal would be ambiguous.
            guard !host.contains(":"), isValidHost(String(host)) else { throw .init(.invalidAddress, whole) }
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText),
            (1...65535).contains(port)
        else { throw .init(.invalidPort, whole) }
        return (String(host), port)
    }

    static func isValidHost(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        return host.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "-._".unicodeScalars.contains(scalar))
        }
    }

    static func isValidServerName(_ name: String) -> Bool {
        isValidHost(name) && !isIPLiteral(name) && !name.hasPrefix(".") && !name.hasSuffix(".")
    }

    /// An IPv4 dotted quad or anything holding a `:` made of hex digits (IPv6).
    static func isIPLiteral(_ host: String) -> Bool {
        if host.contains(":") {
            return host.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit || $0 == ":" || $0 == "." }
        }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4
            && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) && Int($0)! <= 255 }
    }
}

/// A `--probe.*` value that cannot be used; equal by code.
public struct ProbeConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case missingName = "expected NAME=host:port"
        case invalidName = "NAME must start with a letter and hold only letters, digits, '_', '-', '.'"
        case invalidAddress = "expected host:port (IPv6 as [addr]:port)"
        case invalidPort = "port must be 1-65535"
        case invalidOption = "options are spiffe_id=SPIFFE_ID, sni=SERVER_NAME, starttls=postgres|mysql|smtp and client_auth=required"
        case duplicateOption = "option given twice"
        case invalidSPIFFEID = "spiffe_id must be a SPIFFE ID with a path (spiffe://trust-domain/path)"
        case invalidServerName = "sni must be a DNS name, not an IP address"
        case invalidStartTLS = "starttls must be postgres, mysql or smtp"
        case invalidClientAuth = "client_auth must be required"
        case duplicateName = "target NAME used twice"
        case invalidDuration = "invalid duration"
    }

    public var code: Code
    public var value: String

    public init(_ code: Code, _ value: String) {
        self.code = code
        self.value = value
    }

    public var description: String { "\"\(value)\": \(code.rawValue)" }

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
