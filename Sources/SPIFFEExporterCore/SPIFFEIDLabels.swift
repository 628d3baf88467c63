import Foundation
import Synchronization

/// Owner labels derived from the SPIFFE ID (`--label.from-spiffe-id NAME=REGEX`, config
/// `spiffe_id_labels:`): each adds label NAME, whose value is the first capture group of REGEX
/// searched in the SPIFFE ID (empty when it does not match), to every series that has a
/// `spiffe_id` label. The series count stays the same; each series gets wider.
public struct SPIFFEIDLabels: Sendable, Equatable {
    public static let maximumCount = 5
    /// Labels the exporter itself uses or Prometheus gives a meaning to: a derived label named so
    /// would clash with one (or be renamed `exported_...` on ingestion).
    public static let reservedNames: Set<String> = MetricCatalog.labelVocabulary.union(["job", "instance", "le", "quantile"])

    public struct Label: Sendable, Equatable {
        public let name: String
        public let pattern: String
        fileprivate let regex: Compiled

        /// Checks the name (Prometheus rules, not reserved) and compiles the expression, which
        /// must have a capture group.
        public init(name: String, pattern: String) throws(SPIFFEIDLabelError) {
            try SPIFFEIDLabels.checkName(name)
            let regex: NSRegularExpression
            do { regex = try NSRegularExpression(pattern: pattern) } catch {
                throw SPIFFEIDLabelError("\"\(pattern)\" is not a valid regular expression")
            }
            guard regex.numberOfCaptureGroups >= 1 else {
                throw SPIFFEIDLabelError("\"\(pattern)\" has no capture group: the label's value is the first one")
            }
            self.name = name
            self.pattern = pattern
            self.regex = Compiled(regex)
        }

        /// The first capture group's text, or "" (no match, or the group did not take part).
        public func value(for spiffeID: String) -> String {
            let whole = NSRange(spiffeID.startIndex..., in: spiffeID)
            guard let match = regex.regex.firstMatch(in: spiffeID, range: whole),
                let range = Range(match.range(at: 1), in: spiffeID)
            else { return "" }
            return String(spiffeID[range])
        }

        public static func == (a: Label, b: Label) -> Bool { a.name == b.name && a.pattern == b.pattern }
    }

    public let labels: [Label]
    private let cache = ValueCache()

    public init(_ labels: [Label] = []) throws(SPIFFEIDLabelError) {
        guard labels.count <= Self.maximumCount else {
            throw SPIFFEIDLabelError("at most \(Self.maximumCount) labels from the SPIFFE ID (got \(labels.count))")
        }
        var seen: Set<String> = []
        for label in labels where !seen.insert(label.name).inserted {
            throw SPIFFEIDLabelError("label \"\(label.name)\" is derived twice")
        }
        self.labels = labels
    }

    public static let none = SPIFFEIDLabels(unchecked: [])

    private init(unchecked labels: [Label]) {
        self.labels = labels
    }

    public var isEmpty: Bool { labels.isEmpty }
    public var names: [String] { labels.map(\.name) }

    /// The derived values for one SPIFFE ID, in ``names`` order. Remembered: a scrape asks for
    /// every identity's values, which change only with the identities.
    public func values(for spiffeID: String) -> [String] {
        guard !labels.isEmpty else { return [] }
        if let known = cache.get(spiffeID) { return known }
        let values = labels.map { $0.value(for: spiffeID) }
        cache.put(spiffeID, values)
        return values
    }

    /// `descriptor` with the derived labels right after `spiffe_id`; unchanged without one.
    public func widen(_ descriptor: MetricDescriptor) -> MetricDescriptor {
        guard !labels.isEmpty, let index = descriptor.labels.firstIndex(of: "spiffe_id") else { return descriptor }
        var names = descriptor.labels
        names.insert(contentsOf: self.names, at: index + 1)
        return MetricDescriptor(descriptor.name, descriptor.type, descriptor.help, labels: names, buckets: descriptor.buckets)
    }

    /// `family`'s samples with the derived values inserted after their `spiffe_id` value.
    func widen(_ family: MetricFamily) -> MetricFamily {
        guard !labels.isEmpty, let index = family.descriptor.labels.firstIndex(of: "spiffe_id") else { return family }
        var wide = MetricFamily(widen(family.descriptor))
        wide.lineWriters = family.lineWriters
        wide.samples = family.samples.map { sample in
            var sample = sample
            guard index < sample.labelValues.count else { return sample }
            sample.labelValues.insert(contentsOf: values(for: sample.labelValues[index]), at: index + 1)
            return sample
        }
        return wide
    }

    public static func == (a: SPIFFEIDLabels, b: SPIFFEIDLabels) -> Bool { a.labels == b.labels }

    /// A Prometheus label name that is none of the exporter's own.
    public static func checkName(_ name: String) throws(SPIFFEIDLabelError) {
        guard isValidLabelName(name) else {
            throw SPIFFEIDLabelError("label name \"\(name)\" must match [a-zA-Z_][a-zA-Z0-9_]* and not start with \"__\"")
        }
        guard !reservedNames.contains(name) else {
            throw SPIFFEIDLabelError("label name \"\(name)\" is one of the exporter's own labels")
        }
    }

    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !name.hasPrefix("__") else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" }
        return letter(first) && name.unicodeScalars.allSatisfy { letter($0) || ($0 >= "0" && $0 <= "9") }
    }
}

public struct SPIFFEIDLabelError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// NSRegularExpression is immutable once built and documented as safe to use from several threads.
private final class Compiled: @unchecked Sendable {
    let regex: NSRegularExpression

    init(_ regex: NSRegularExpression) {
        self.regex = regex
    }
}

/// Derived values by SPIFFE ID; dropped whole past a bound, so churning identities cannot grow it.
private final class ValueCache: Sendable {
    static let limit = 50_000
    private let values = Mutex<[String: [String]]>([:])

    func get(_ key: String) -> [String]? { values.withLock { $0[key] } }

    func put(_ key: String, _ value: [String]) {
        values.withLock { values in
            if values.count >= Self.limit { values.removeAll(keepingCapacity: true) }
            values[key] = value
        }
    }
}
