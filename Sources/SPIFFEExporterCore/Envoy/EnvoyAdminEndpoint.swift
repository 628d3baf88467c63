/// An Envoy admin listener as configured (`http://HOST:PORT[/PREFIX]`): plain HTTP only, as
/// Envoy's admin interface serves it; a path is kept as a prefix (an admin behind a path-routing
/// proxy) and `/certs` is appended.
public struct EnvoyAdminEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Empty, or starting with `/` and without a trailing one.
    public var pathPrefix: String

    public init(host: String, port: Int, pathPrefix: String = "") {
        self.host = host
        self.port = port
        self.pathPrefix = pathPrefix
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "http://\(shownHost):\(port)\(pathPrefix)"
    }

    /// The request target of `/certs`.
    public var certsPath: String { pathPrefix + "/certs" }

    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Parses `http://HOST:PORT[/PREFIX]`; the port may be left out (80). No user info, query or
    /// fragment: none has a meaning for the admin API, and user info would end up in logs.
    public init(parsing text: String) throws(ParseError) {
        guard text.lowercased().hasPrefix("http://") else {
            if text.lowercased().hasPrefix("https://") {
                throw ParseError("\"\(text)\": Envoy's admin listener speaks plain HTTP; use http://")
            }
            throw ParseError("\"\(text)\" is no http://HOST:PORT URL")
        }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[rest.startIndex..<slash]
        var path = String(rest[slash...])
        guard !path.contains("?"), !path.contains("#"), !authority.contains("?"), !authority.contains("#") else {
            throw ParseError("\"\(text)\": no query or fragment, the exporter asks for /certs itself")
        }
        guard !authority.contains("@") else { throw ParseError("\"\(text)\": no user info in the admin URL") }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw ParseError("\"\(text)\": unclosed [") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ParseError("\"\(text)\": expected :PORT after ]") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ ($0.isASCII && $0.isHexDigit) || $0 == ":" || $0 == "." }) else {
                throw ParseError("\"\(text)\": [\(host)] is no IPv6 address")
            }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[authority.startIndex..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty, host.count <= 253,
                host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") })
            else { throw ParseError("\"\(text)\": \"\(host)\" is no host name or IPv4 address") }
        }
        var port = 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value), portText.allSatisfy(\.isNumber) else {
                throw ParseError("\"\(text)\": the port must be 1 to 65535")
            }
            port = value
        }
        while path.hasSuffix("/") { path.removeLast() }
        guard path.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "%" }) else {
            throw ParseError("\"\(text)\": the path may hold printable ASCII only")
        }
        self.init(host: String(host), port: port, pathPrefix: path)
    }
}
