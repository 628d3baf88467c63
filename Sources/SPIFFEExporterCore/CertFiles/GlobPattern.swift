/// A file glob: `*` and `?` within one path component, `[abc]`, `[a-z]`, `[!x]`/`[^x]` classes,
/// `**` as a whole component for any number of directories, and `\` to escape. As in a shell, a
/// name starting with `.` is matched only by a pattern component that starts with a literal `.`,
/// so `*.crt` skips Kubernetes' `..data` and `..2024_…` entries and each file is reported once.
///
/// The leading components without wildcards form ``root``, where a walk starts; the rest is
/// matched component by component, so a walker can prune directories with ``mayContain(_:)``.
public struct GlobPattern: Sendable, Hashable, CustomStringConvertible {
    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        case empty
        case unterminatedClass
        case trailingBackslash

        public var description: String {
            switch self {
            case .empty: "empty pattern"
            case .unterminatedClass: "'[' without a closing ']'"
            case .trailingBackslash: "pattern ends with a lone '\\'"
            }
        }
    }

    enum Token: Sendable, Hashable {
        case literal(Character)
        case anyOne
        case anyRun
        case characterClass(negated: Bool, items: [ClassItem])
    }

    enum ClassItem: Sendable, Hashable {
        case single(Character)
        case range(Character, Character)
    }

    enum Segment: Sendable, Hashable {
        case tokens([Token])
        case anyDirectories
    }

    public let text: String
    /// The directory the walk starts from: the leading wildcard-free components (`/` for an
    /// absolute pattern that starts with a wildcard, `.` for a relative one).
    public let root: String
    let segments: [Segment]

    public var description: String { text }

    public init(_ text: String) throws(ParseError) {
        guard !text.isEmpty else { throw .empty }
        self.text = text
        let isAbsolute = text.hasPrefix("/")
        let components = text.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !components.isEmpty else { throw .empty }
        var rootComponents: [String] = []
        var index = 0
        // The last component is always matched (even without wildcards) so the root is a directory.
        while index < components.count - 1, !Self.hasWildcard(components[index]) {
            rootComponents.append(try Self.unescape(components[index]))
            index += 1
        }
        var segments: [Segment] = []
        for component in components[index...] {
            if component == "**" {
                if segments.last != .anyDirectories { segments.append(.anyDirectories) }
            } else {
                // `**` inside a component (`a**b`) is an ordinary `*`.
                segments.append(.tokens(try Self.tokenize(component)))
            }
        }
        let joined = rootComponents.joined(separator: "/")
        root = isAbsolute ? "/" + joined : (joined.isEmpty ? "." : joined)
        self.segments = segments
    }

    /// The path of a walked entry: ``root`` joined with the components below it.
    public func path(relative components: [String]) -> String {
        let tail = components.joined(separator: "/")
        if root == "/" { return "/" + tail }
        if root == "." && !text.hasPrefix("./") { return tail }
        return root + "/" + tail
    }

    /// Whether the path below ``root`` given by `components` matches the whole pattern.
    public func matches(_ components: [Substring]) -> Bool {
        states(after: components).contains(segments.count)
    }

    public func matches(_ components: [String]) -> Bool { matches(components.map { Substring($0) }) }

    /// Whether a directory at `components` below ``root`` can hold a match, so a walk descends.
    public func mayContain(_ components: [Substring]) -> Bool {
        states(after: components).contains { $0 < segments.count }
    }

    public func mayContain(_ components: [String]) -> Bool { mayContain(components.map { Substring($0) }) }

    /// Whether the pattern can match below the directories it does not name literally: a walker
    /// must then watch every directory it enters, not only ``root``.
    public var matchesBelowRoot: Bool { segments.count > 1 || segments.first == .anyDirectories }

    /// Runs the segment automaton: which segment indices may come next after `components`.
    private func states(after components: [Substring]) -> Set<Int> {
        var current = closure([0])
        for component in components {
            var next: Set<Int> = []
            for state in current where state < segments.count {
                switch segments[state] {
                case .anyDirectories:
                    // `**` eats a whole component (never a hidden one) and stays.
                    if !component.hasPrefix(".") { next.insert(state) }
                case .tokens(let tokens):
                    if Self.match(tokens[...], component) { next.insert(state + 1) }
                }
            }
            current = closure(next)
            if current.isEmpty { break }
        }
        return current
    }

    /// `**` may also match zero components.
    private func closure(_ states: Set<Int>) -> Set<Int> {
        var result = states
        var work = Array(states)
        while let state = work.popLast() {
            if state < segments.count, segments[state] == .anyDirectories, result.insert(state + 1).inserted {
                work.append(state + 1)
            }
        }
        return result
    }

    static func match(_ tokens: ArraySlice<Token>, _ name: Substring) -> Bool {
        // A leading dot must be matched literally.
        if name.hasPrefix("."), let first = tokens.first, first != .literal(".") { return false }
        return matchTokens(tokens, name)
    }

    private static func matchTokens(_ tokens: ArraySlice<Token>, _ name: Substring) -> Bool {
        // Iterative wildcard matching with backtracking to the last `*`.
        var t = tokens.startIndex
        var n = name.startIndex
        var starToken: ArraySlice<Token>.Index?
        var starName = name.startIndex
        while n < name.endIndex {
            if t < tokens.endIndex {
                switch tokens[t] {
                case .anyRun:
                    starToken = t
                    starName = n
                    t += 1
                    continue
                case .anyOne:
                    t += 1
                    n = name.index(after: n)
                    continue
                case .literal(let c) where c == name[n]:
                    t += 1
                    n = name.index(after: n)
                    continue
                case .characterClass(let negated, let items) where classMatches(items, name[n]) != negated:
                    t += 1
                    n = name.index(after: n)
                    continue
                default:
                    break
                }
            }
            guard let star = starToken else { return false }
            t = star + 1
            starName = name.index(after: starName)
            n = starName
        }
        while t < tokens.endIndex, tokens[t] == .anyRun { t += 1 }
        return t == tokens.endIndex
    }

    private static func classMatches(_ items: [ClassItem], _ c: Character) -> Bool {
        items.contains { item in
            switch item {
            case .single(let x): x == c
            case .range(let low, let high): low <= c && c <= high
            }
        }
    }

    static func hasWildcard(_ component: String) -> Bool {
        component.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    private static func unescape(_ component: String) throws(ParseError) -> String {
        var out = ""
        var escaped = false
        for c in component {
            if escaped {
                out.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        if escaped { throw .trailingBackslash }
        return out
    }

    static func tokenize(_ component: String) throws(ParseError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(component)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "\\":
                guard i + 1 < chars.count else { throw .trailingBackslash }
                tokens.append(.literal(chars[i + 1]))
                i += 2
            case "*":
                if tokens.last != .anyRun { tokens.append(.anyRun) }
                i += 1
            case "?":
                tokens.append(.anyOne)
                i += 1
            case "[":
                var j = i + 1
                var negated = false
                if j < chars.count, chars[j] == "!" || chars[j] == "^" {
                    negated = true
                    j += 1
                }
                var items: [ClassItem] = []
                var first = true
                var closed = false
                while j < chars.count {
                    var c = chars[j]
                    if c == "]" && !first {
                        closed = true
                        break
                    }
                    first = false
                    if c == "\\" {
                        guard j + 1 < chars.count else { throw .trailingBackslash }
                        j += 1
                        c = chars[j]
                    }
                    if j + 2 < chars.count, chars[j + 1] == "-", chars[j + 2] != "]" {
                        items.append(.range(c, chars[j + 2]))
                        j += 3
                    } else {
                        items.append(.single(c))
                        j += 1
                    }
                }
                guard closed else { throw .unterminatedClass }
                tokens.append(.characterClass(negated: negated, items: items))
                i = j + 1
            default:
                tokens.append(.literal(c))
                i += 1
            }
        }
        return tokens
    }
}
