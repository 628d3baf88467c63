/// A validated SPIFFE ID (`spiffe://trust-domain/path`), following every rule of the SPIFFE ID
/// standard (spiffe/spiffe standards/SPIFFE-ID.md §2) as go-spiffe applies them.
public struct SPIFFEID: Hashable, Sendable, CustomStringConvertible {
    /// The trust domain name, e.g. `example.org`.
    public let trustDomain: String
    /// The path including its leading `/`, or the empty string for a trust domain ID.
    public let path: String

    public var description: String { "spiffe://\(trustDomain)\(path)" }
    /// The ID of the trust domain this ID belongs to (`spiffe://example.org`).
    public var trustDomainID: String { "spiffe://\(trustDomain)" }
    /// Whether this is a trust domain ID (no path), which must never appear in a leaf SVID.
    public var isTrustDomainID: Bool { path.isEmpty }

    public static let maximumLength = 2048
    public static let maximumTrustDomainLength = 255

    /// Parses and validates a SPIFFE ID. Throws a ``SPIFFEIDError`` naming the first rule broken.
    public init(parsing text: String) throws(SPIFFEIDError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= Self.maximumLength else { throw .tooLong(bytes.count) }
        let scheme = Array("spiffe://".utf8)
        guard bytes.starts(with: scheme) else { throw .wrongScheme }
        let rest = bytes[scheme.count...]
        let slash = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        let domain = rest[rest.startIndex..<slash]
        let path = rest[slash...]
        try Self.validateTrustDomain(domain)
        try Self.validatePath(path)
        self.trustDomain = String(decoding: domain, as: UTF8.self)
        self.path = String(decoding: path, as: UTF8.self)
    }

    /// Parses a trust domain given either as a bare name (`example.org`) or as a trust domain ID
    /// (`spiffe://example.org`), the two spellings met as Workload API bundle map keys.
    public static func trustDomain(parsing text: String) throws(SPIFFEIDError) -> String {
        if text.hasPrefix("spiffe://") {
            let id = try SPIFFEID(parsing: text)
            guard id.isTrustDomainID else { throw .trustDomainIDHasPath }
            return id.trustDomain
        }
        try validateTrustDomain(Array(text.utf8)[...])
        return text
    }

    static func validateTrustDomain(_ domain: ArraySlice<UInt8>) throws(SPIFFEIDError) {
        guard !domain.isEmpty else { throw .missingTrustDomain }
        guard domain.count <= maximumTrustDomainLength else { throw .trustDomainTooLong(domain.count) }
        for byte in domain where !isTrustDomainByte(byte) {
            switch byte {
            case UInt8(ascii: ":"): throw .portNotAllowed
            case UInt8(ascii: "@"): throw .userInfoNotAllowed
            case UInt8(ascii: "?"): throw .queryNotAllowed
            case UInt8(ascii: "#"): throw .fragmentNotAllowed
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): throw .uppercaseTrustDomain
            default: throw .badTrustDomainCharacter
            }
        }
    }

    static func validatePath(_ path: ArraySlice<UInt8>) throws(SPIFFEIDError) {
        guard !path.isEmpty else { return }
        // `path` starts with "/" by construction; walk segments between slashes.
        var segmentStart = path.startIndex + 1
        var index = segmentStart
        while true {
            if index == path.endIndex || path[index] == UInt8(ascii: "/") {
                let segment = path[segmentStart..<index]
                if segment.isEmpty {
                    throw index == path.endIndex ? .trailingSlash : .emptySegment
                }
                if segment.elementsEqual([UInt8(ascii: ".")]) || segment.elementsEqual([0x2E, 0x2E]) {
                    throw .dotSegment
                }
                if index == path.endIndex { return }
                segmentStart = index + 1
            } else if !isPathByte(path[index]) {
                switch path[index] {
                case UInt8(ascii: "?"): throw .queryNotAllowed
                case UInt8(ascii: "#"): throw .fragmentNotAllowed
                case UInt8(ascii: "%"): throw .percentEncodingNotAllowed
                default: throw .badPathCharacter
                }
            }
            index += 1
        }
    }

    @inline(__always)
    static func isTrustDomainByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2E || b == 0x2D || b == 0x5F
    }

    @inline(__always)
    static func isPathByte(_ b: UInt8) -> Bool {
        isTrustDomainByte(b) || (b >= 0x41 && b <= 0x5A)
    }
}

/// Why a string is not a valid SPIFFE ID; one case per rule of the standard.
public enum SPIFFEIDError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(Int)
    case wrongScheme
    case missingTrustDomain
    case trustDomainTooLong(Int)
    case uppercaseTrustDomain
    case badTrustDomainCharacter
    case portNotAllowed
    case userInfoNotAllowed
    case queryNotAllowed
    case fragmentNotAllowed
    case emptySegment
    case dotSegment
    case trailingSlash
    case percentEncodingNotAllowed
    case badPathCharacter
    case trustDomainIDHasPath

    public var description: String {
        switch self {
        case .empty: "SPIFFE ID cannot be empty"
        case .tooLong(let n): "SPIFFE ID is \(n) bytes, longer than the 2048-byte maximum"
        case .wrongScheme: "scheme is missing or invalid (must start with \"spiffe://\")"
        case .missingTrustDomain: "trust domain is missing"
        case .trustDomainTooLong(let n): "trust domain is \(n) bytes, longer than the 255-byte maximum"
        case .uppercaseTrustDomain: "trust domain must be lowercase"
        case .badTrustDomainCharacter:
            "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores"
        case .portNotAllowed: "trust domain cannot contain a port"
        case .userInfoNotAllowed: "SPIFFE ID cannot contain user info"
        case .queryNotAllowed: "SPIFFE ID cannot contain a query"
        case .fragmentNotAllowed: "SPIFFE ID cannot contain a fragment"
        case .emptySegment: "path cannot contain empty segments"
        case .dotSegment: "path cannot contain dot segments"
        case .trailingSlash: "path cannot have a trailing slash"
        case .percentEncodingNotAllowed: "path cannot contain percent-encoded characters"
        case .badPathCharacter:
            "path segment characters are limited to letters, numbers, dots, dashes, and underscores"
        case .trustDomainIDHasPath: "a trust domain ID cannot have a path"
        }
    }
}
