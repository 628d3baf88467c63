/// Splits concatenated DER structures (Workload API `x509_svid`, `bundle` fields) without parsing
/// them: each is a definite-length ASN.1 SEQUENCE. Trailing bytes that are not a whole SEQUENCE are
/// an error, never silently ignored.
public enum DERChain {
    public enum SplitError: Error, Hashable, Sendable, CustomStringConvertible {
        case notASequence(offset: Int)
        case unsupportedLength(offset: Int)
        case truncated(offset: Int)

        public var description: String {
            switch self {
            case .notASequence(let o): "byte \(o) does not start a DER SEQUENCE"
            case .unsupportedLength(let o): "DER element at byte \(o) has an indefinite or oversized length"
            case .truncated(let o): "DER element at byte \(o) runs past the end of the data"
            }
        }
    }

    /// Returns each element's bytes; an empty input gives an empty array.
    public static func split(_ bytes: [UInt8]) throws(SplitError) -> [ArraySlice<UInt8>] {
        let (elements, error) = splitPrefix(bytes)
        if let error { throw error }
        return elements
    }

    /// The whole elements before the first error, and that error: one bad entry at the end of a
    /// bundle must not hide the good roots in front of it.
    public static func splitPrefix(_ bytes: [UInt8]) -> (elements: [ArraySlice<UInt8>], error: SplitError?) {
        var elements: [ArraySlice<UInt8>] = []
        do throws(SplitError) {
            try walk(bytes) { elements.append($0) }
            return (elements, nil)
        } catch {
            return (elements, error)
        }
    }

    private static func walk(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>) -> Void) throws(SplitError) {
        var offset = 0
        while offset < bytes.count {
            guard bytes[offset] == 0x30 else { throw .notASequence(offset: offset) }
            guard offset + 1 < bytes.count else { throw .truncated(offset: offset) }
            let first = Int(bytes[offset + 1])
            var headerLength = 2
            var contentLength = 0
            if first < 0x80 {
                contentLength = first
            } else {
                let lengthBytes = first & 0x7F
                // 0x80 is BER's indefinite form; > 4 bytes of length would exceed any sane certificate.
                guard lengthBytes >= 1, lengthBytes <= 4 else { throw .unsupportedLength(offset: offset) }
                guard offset + 2 + lengthBytes <= bytes.count else { throw .truncated(offset: offset) }
                for i in 0..<lengthBytes {
                    contentLength = (contentLength << 8) | Int(bytes[offset + 2 + i])
                }
                headerLength += lengthBytes
            }
            let end = offset + headerLength + contentLength
            guard end <= bytes.count else { throw .truncated(offset: offset) }
            body(bytes[offset..<end])
            offset = end
        }
    }
}
