/// `--web.listen-address` in Prometheus exporter form: `:9841`, `0.0.0.0:9841`, `127.0.0.1:9841`,
/// `[::1]:9841`, `localhost:9841`.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        case missingPort(String), invalidPort(String)
        public var description: String {
            switch self {
            case .missingPort(let s): "listen address \"\(s)\" needs a port, e.g. \":9841\""
            case .invalidPort(let s): "listen address \"\(s)\" has an invalid port (0-65535)"
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .missingPort(text) }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .missingPort(text) }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !portPart.isEmpty, portPart.allSatisfy(\.isASCIIDigit), let port = Int(portPart), port <= 65535 else {
            throw .invalidPort(text)
        }
        if hostPart.isEmpty { hostPart = "0.0.0.0" }
        self.host = String(hostPart)
        self.port = port
    }
}
