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
/// whose body is not base64 is an error: the whole file is then unusable. Works on bytes: PEM
/// decoding is the hottest path when thousands of files are loaded.
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

    public static func parse(_ text: String) throws(ParseError) -> [PEMBlock] {
        try parse(Array(text.utf8))
    }

    public static func parse(_ data: [UInt8]) throws(ParseError) -> [PEMBlock] {
        var blocks: [PEMBlock] = []
        var currentType: String?
        var body: [UInt8] = []
        var index = 0
        let count = data.count
        while index < count {
            var end = index
            while end < count && data[end] != 0x0A && data[end] != 0x0D { end += 1 }
            var start = index
            index = end + 1
            var stop = end
            while start < stop && (data[start] == 0x20 || data[start] == 0x09) { start += 1 }
            while stop > start && (data[stop - 1] == 0x20 || data[stop - 1] == 0x09) { stop -= 1 }
            if start == stop { continue }
            let line = data[start..<stop]
            if let type = marker(line, begin: true) {
                // A BEGIN inside a block means the previous block was cut short.
                if let open = currentType { throw .unterminated(type: open) }
                currentType = type
                body.removeAll(keepingCapacity: true)
            } else if let type = marker(line, begin: false) {
                guard let open = currentType else { continue }
                guard open == type else { throw .mismatchedEnd(begin: open, end: type) }
                guard !body.isEmpty else { throw .emptyBlock(type: open) }
                guard let der = Base64.decode(body) else { throw .invalidBase64(type: open) }
                blocks.append(PEMBlock(type: open, der: der))
                currentType = nil
            } else if currentType != nil {
                // RFC 1421 headers (Proc-Type, DEK-Info) are not base64; skip them.
                if line.contains(UInt8(ascii: ":")) { continue }
                body.append(contentsOf: line)
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

    private static let beginPrefix = Array("-----BEGIN ".utf8)
    private static let endPrefix = Array("-----END ".utf8)
    private static let dashes = Array("-----".utf8)

    private static func marker(_ line: ArraySlice<UInt8>, begin: Bool) -> String? {
        let prefix = begin ? beginPrefix : endPrefix
        guard line.count >= prefix.count + dashes.count, line.starts(with: prefix), line.suffix(5).elementsEqual(dashes)
        else { return nil }
        return String(decoding: line.dropFirst(prefix.count).dropLast(dashes.count), as: UTF8.self)
    }
}

/// Strict standard base64 (RFC 4648 §4, padded), decoding bytes without going through String or Data.
enum Base64 {
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(c)] = UInt8(i)
        }
        return table
    }()

    static func decode(_ input: [UInt8]) -> [UInt8]? {
        guard input.count % 4 == 0, !input.isEmpty else { return nil }
        var padding = 0
        if input[input.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if input[input.count - 2] == UInt8(ascii: "=") { padding += 1 }
        var output = [UInt8]()
        output.reserveCapacity(input.count / 4 * 3)
        return input.withUnsafeBufferPointer { bytes -> [UInt8]? in
            table.withUnsafeBufferPointer { table -> [UInt8]? in
                var i = 0
                let full = input.count - (padding > 0 ? 4 : 0)
                while i < full {
                    let a = table[Int(bytes[i])], b = table[Int(bytes[i + 1])]
                    let c = table[Int(bytes[i + 2])], d = table[Int(bytes[i + 3])]
                    if (a | b | c | d) & 0x80 != 0 { return nil }
                    output.append(a << 2 | b >> 4)
                    output.append(b << 4 | c >> 2)
                    output.append(c << 6 | d)
                    i += 4
                }
                if padding > 0 {
                    let a = table[Int(bytes[i])], b = table[Int(bytes[i + 1])]
                    if (a | b) & 0x80 != 0 { return nil }
                    output.append(a << 2 | b >> 4)
                    if padding == 1 {
                        let c = table[Int(bytes[i + 2])]
                        if c & 0x80 != 0 { return nil }
                        output.append(b << 4 | c >> 2)
                    }
                }
                return output
            }
        }
    }
}
