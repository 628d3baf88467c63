/// A SPIFFE ID, or a glob over SPIFFE IDs: in the path, `*` matches any characters within one
/// segment (`/ns/*/sa/web`, `/ns/prod/sa/api-*`) and a `**` segment matches any number of
/// segments, none included (`/ns/payments/**`). The trust domain is always literal: an
/// expectation never spans trust domains by accident.
public struct SPIFFEIDPattern: Hashable, Sendable, CustomStringConvertible {
    public let text: String
    /// The trust domain name.
    public let trustDomain: String
    /// Path segments (without slashes), `**` and `*`-globs included.
    let segments: [String]

    public var description: String { text }
    /// Whether the pattern matches exactly one SPIFFE ID (no `*` anywhere).
    public var isExact: Bool { !text.contains("*") }

    /// Parses `text`; a plain SPIFFE ID must be valid, and a glob must be one once every `*` stands
    /// for a character. Throws a message naming the rule broken.
    public init(parsing text: String) throws(SPIFFEIDPatternError) {
        let segments = Self.pathSegments(text)
        for segment in segments where segment.contains("**") && segment != "**" {
            throw SPIFFEIDPatternError("\"**\" must be a whole path segment (in \"\(text)\")")
        }
        // Every `*` replaced by a path character must leave a valid SPIFFE ID with a path.
        let stand = text.replacingStars()
        let id: SPIFFEID
        do { id = try SPIFFEID(parsing: stand) } catch {
            throw SPIFFEIDPatternError("\"\(text)\" is not a valid SPIFFE ID\(stand == text ? "" : " pattern"): \(error)")
        }
        guard !id.isTrustDomainID else {
            throw SPIFFEIDPatternError("\"\(text)\" has no path: an SVID's SPIFFE ID always has one")
        }
        guard id.trustDomain == String(text.dropFirst("spiffe://".count).prefix(id.trustDomain.count)) else {
            throw SPIFFEIDPatternError("\"\(text)\": the trust domain cannot hold \"*\"")
        }
        self.text = text
        self.trustDomain = id.trustDomain
        self.segments = segments
    }

    /// Whether `spiffeID` (any string; invalid IDs simply do not match) is matched.
    public func matches(_ spiffeID: String) -> Bool {
        let prefix = "spiffe://\(trustDomain)/"
        guard spiffeID.hasPrefix(prefix) else { return false }
        if isExact { return spiffeID == text }
        let path = spiffeID.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        // reachable[j]: the pattern's first i segments can match the ID's first j segments.
        var reachable = [Bool](repeating: false, count: path.count + 1)
        reachable[0] = true
        for segment in segments {
            var next = [Bool](repeating: false, count: path.count + 1)
            if segment == "**" {
                var any = false
                for j in 0...path.count {
                    any = any || reachable[j]
                    next[j] = any
                }
            } else {
                for j in 0..<path.count where reachable[j] && Self.glob(segment.utf8, matches: path[j].utf8) {
                    next[j + 1] = true
                }
            }
            reachable = next
        }
        return reachable[path.count]
    }

    static func pathSegments(_ text: String) -> [String] {
        guard text.hasPrefix("spiffe://") else { return [] }
        let rest = text.dropFirst("spiffe://".count)
        guard let slash = rest.firstIndex(of: "/") else { return [] }
        return rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    }

    /// `*` within one segment: linear-time wildcard matching (greedy, backtracking to the last star).
    static func glob(_ pattern: String.UTF8View, matches text: Substring.UTF8View) -> Bool {
        let p = Array(pattern)
        let t = Array(text)
        var (i, j) = (0, 0)
        var star: Int?
        var mark = 0
        while j < t.count {
            if i < p.count, p[i] != UInt8(ascii: "*"), p[i] == t[j] {
                i += 1
                j += 1
            } else if i < p.count, p[i] == UInt8(ascii: "*") {
                star = i
                mark = j
                i += 1
            } else if let s = star {
                i = s + 1
                mark += 1
                j = mark
            } else {
                return false
            }
        }
        while i < p.count, p[i] == UInt8(ascii: "*") { i += 1 }
        return i == p.count
    }
}

public struct SPIFFEIDPatternError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

extension String {
    /// `*` → `x`, so a glob can be checked with the SPIFFE ID rules.
    fileprivate func replacingStars() -> String {
        String(map { $0 == "*" ? "x" : $0 })
    }
}
