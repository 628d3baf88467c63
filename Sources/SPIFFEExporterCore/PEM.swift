import Foundation

/// One `-----BEGIN TYPE-----` … `-----END TYPE-----` block.
public struct PEMBlock: Hashable, Sendable {
    public var type: String
    public var der: [UInt8]

    public init(type: String, der: [UInt8]) {
        self.type = type
        self.der = der
    }
}

/// A tolerant PEM reader, matching what go-spiffe accepts: text outside blocks (comments, OpenSSL
/// "Bag Attributes") is ignored, CRLF and stray whitespace are fine, blocks of any type are
/// returned so callers pick the ones they need. A block that never ends (a half-written file) or
/// whose body is not base64 is an error: the whole file is then unusable.
public enum PEM {
    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        case noBlocks
        case unterminated(type: String)
        case mismatchedEnd(begin: String, end: String)
        case invalidBase64(type: String)
        case emptyBlock(type: String)

        public var description: String {
            switch self {
            case .noBlocks: "no PEM blocks found"
            case .unterminated(let t): "PEM block \(t) has no END line (truncated file?)"
            case .mismatchedEnd(let b, let e): "PEM block BEGIN \(b) ends with END \(e)"
            case .invalidBase64(let t): "PEM block \(t) is not valid base64"
            case .emptyBlock(let t): "PEM block \(t) is empty"
            }
        }
    }

    public static func parse(_ data: [UInt8]) throws(ParseError) -> [PEMBlock] {
        try parse(String(decoding: data, as: UTF8.self))
    }

    public static func parse(_ text: String) throws(ParseError) -> [PEMBlock] {
        var blocks: [PEMBlock] = []
        var currentType: String?
        var body = ""
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let type = marker(line, kind: "BEGIN") {
                // A BEGIN inside a block means the previous block was cut short.
                if let open = currentType { throw .unterminated(type: open) }
                currentType = type
                body = ""
            } else if let type = marker(line, kind: "END") {
                guard let open = currentType else { continue }
                guard open == type else { throw .mismatchedEnd(begin: open, end: type) }
                guard !body.isEmpty else { throw .emptyBlock(type: open) }
                guard let der = Data(base64Encoded: body) else { throw .invalidBase64(type: open) }
                blocks.append(PEMBlock(type: open, der: Array(der)))
                currentType = nil
            } else if currentType != nil {
                // RFC 1421 headers (Proc-Type, DEK-Info) are not base64; skip them.
                if line.contains(":") { continue }
                body += line
            }
        }
        if let open = currentType { throw .unterminated(type: open) }
        guard !blocks.isEmpty else { throw .noBlocks }
        return blocks
    }

    /// Encodes DER as a PEM block with 64-column lines.
    public static func encode(type: String, der: some Collection<UInt8>) -> String {
        let base64 = Data(der).base64EncodedString()
        var out = "-----BEGIN \(type)-----\n"
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            out += base64[index..<end]
            out += "\n"
            index = end
        }
        out += "-----END \(type)-----\n"
        return out
    }

    private static func marker(_ line: String, kind: String) -> String? {
        let prefix = "-----\(kind) "
        guard line.hasPrefix(prefix), line.hasSuffix("-----"), line.count >= prefix.count + 5 else { return nil }
        return String(line.dropFirst(prefix.count).dropLast(5))
    }
}
