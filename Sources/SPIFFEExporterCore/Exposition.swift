/// Which text format a scrape asked for.
public enum ExpositionFormat: Sendable, Hashable {
    /// Prometheus text format 0.0.4.
    case prometheusText
    /// OpenMetrics 1.0.0 text.
    case openMetrics

    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks the format from an HTTP Accept header, as client_golang does: OpenMetrics only when
    /// explicitly asked for.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheusText }
        for part in accept.split(separator: ",") {
            let mediaType = part.split(separator: ";").first.map { $0.trimmingWhitespace() } ?? ""
            if mediaType == "application/openmetrics-text" { return .openMetrics }
        }
        return .prometheusText
    }
}

/// One sample of a family. `labelValues` follow the descriptor's label order; `suffix` is `_bucket`,
/// `_sum` or `_count` for histograms, empty otherwise; `extraLabel` carries `le`.
public struct Sample: Sendable, Hashable {
    public var labelValues: [String]
    public var suffix: String
    public var extraLabel: (name: String, value: String)?
    public var value: Double

    public init(_ labelValues: [String], _ value: Double, suffix: String = "", extraLabel: (String, String)? = nil) {
        self.labelValues = labelValues
        self.value = value
        self.suffix = suffix
        self.extraLabel = extraLabel.map { (name: $0.0, value: $0.1) }
    }

    public static func == (a: Sample, b: Sample) -> Bool {
        a.labelValues == b.labelValues && a.suffix == b.suffix && a.value == b.value
            && a.extraLabel?.name == b.extraLabel?.name && a.extraLabel?.value == b.extraLabel?.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(labelValues)
        hasher.combine(suffix)
        hasher.combine(extraLabel?.value)
    }
}

/// Samples of one family, gathered at scrape time from any number of producers.
public struct MetricFamily: Sendable {
    public let descriptor: MetricDescriptor
    public var samples: [Sample]

    public init(_ descriptor: MetricDescriptor, samples: [Sample] = []) {
        self.descriptor = descriptor
        self.samples = samples
    }
}

/// Collects families from several producers, merges those with the same name and renders them
/// sorted by name, series sorted by label values, so output is stable and diffable.
public struct ScrapeBuilder: Sendable {
    private var families: [String: MetricFamily] = [:]

    public init() {}

    public mutating func add(_ descriptor: MetricDescriptor, _ samples: [Sample]) {
        families[descriptor.name, default: MetricFamily(descriptor)].samples.append(contentsOf: samples)
    }

    public mutating func add(_ family: MetricFamily) {
        add(family.descriptor, family.samples)
    }

    /// Adds a family with no samples so its HELP/TYPE appear even before any series exists.
    public mutating func declare(_ descriptor: MetricDescriptor) {
        add(descriptor, [])
    }

    public func render(_ format: ExpositionFormat) -> [UInt8] {
        var writer = ExpositionWriter(format: format)
        for name in families.keys.sorted() {
            guard let family = families[name] else { continue }
            writer.write(family)
        }
        return writer.finish()
    }
}

/// Writes exposition text into one byte buffer (no String concatenation per sample).
public struct ExpositionWriter {
    public let format: ExpositionFormat
    private var out: [UInt8] = []

    public init(format: ExpositionFormat, reserving capacity: Int = 16 * 1024) {
        self.format = format
        out.reserveCapacity(capacity)
    }

    public mutating func write(_ family: MetricFamily) {
        let d = family.descriptor
        let familyName = format == .openMetrics ? d.openMetricsName : d.name
        append("# HELP ")
        append(familyName)
        append(" ")
        appendEscaped(d.help, quotes: false)
        append("\n# TYPE ")
        append(familyName)
        append(" ")
        append(d.type.rawValue)
        append("\n")
        let samples = family.samples.sorted(by: Self.sampleOrder)
        var previous: Sample?
        for sample in samples {
            // Two producers must never emit the same series; keep the first rather than emit an
            // invalid exposition.
            if let previous, previous.labelValues == sample.labelValues, previous.suffix == sample.suffix,
                previous.extraLabel?.value == sample.extraLabel?.value
            {
                continue
            }
            previous = sample
            writeSample(d, sample)
        }
    }

    public mutating func finish() -> [UInt8] {
        if format == .openMetrics { append("# EOF\n") }
        return out
    }

    private mutating func writeSample(_ d: MetricDescriptor, _ sample: Sample) {
        append(d.name)
        append(sample.suffix)
        let hasLabels = !d.labels.isEmpty || sample.extraLabel != nil
        if hasLabels {
            out.append(UInt8(ascii: "{"))
            var first = true
            for (name, value) in zip(d.labels, sample.labelValues) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                appendLabel(name, value)
            }
            if let extra = sample.extraLabel {
                if !first { out.append(UInt8(ascii: ",")) }
                appendLabel(extra.name, extra.value)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        append(Self.formatValue(sample.value))
        out.append(UInt8(ascii: "\n"))
    }

    private mutating func appendLabel(_ name: String, _ value: String) {
        append(name)
        append("=\"")
        appendEscaped(value, quotes: true)
        out.append(UInt8(ascii: "\""))
    }

    private mutating func append(_ s: String) {
        out.append(contentsOf: s.utf8)
    }

    private mutating func appendEscaped(_ s: String, quotes: Bool) {
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "\n"): out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case UInt8(ascii: "\"") where quotes: out.append(contentsOf: [0x5C, 0x22])
            default: out.append(byte)
            }
        }
    }

    static func sampleOrder(_ a: Sample, _ b: Sample) -> Bool {
        if a.labelValues != b.labelValues { return a.labelValues.lexicographicallyPrecedes(b.labelValues) }
        if a.suffix != b.suffix { return suffixRank(a.suffix) < suffixRank(b.suffix) }
        return bucketBound(a) < bucketBound(b)
    }

    private static func suffixRank(_ suffix: String) -> Int {
        switch suffix {
        case "_bucket": 0
        case "_sum": 1
        case "_count": 2
        default: -1
        }
    }

    private static func bucketBound(_ s: Sample) -> Double {
        guard let value = s.extraLabel?.value else { return 0 }
        return value == "+Inf" ? .infinity : Double(value) ?? 0
    }

    /// Go-compatible float text: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    public static func formatValue(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return v.description
    }

    /// Bucket bound text for the `le` label.
    public static func formatBound(_ v: Double) -> String {
        v.isInfinite ? "+Inf" : v.description
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
