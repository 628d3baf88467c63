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
        // The first producer of a family hands its array over as is (no per-sample copy).
        guard families[descriptor.name] != nil else {
            families[descriptor.name] = MetricFamily(descriptor, samples: samples)
            return
        }
        families[descriptor.name]?.samples.append(contentsOf: samples)
    }

    public mutating func add(_ family: MetricFamily) {
        add(family.descriptor, family.samples)
    }

    /// Adds a family with no samples so its HELP/TYPE appear even before any series exists.
    public mutating func declare(_ descriptor: MetricDescriptor) {
        add(descriptor, [])
    }

    public func render(_ format: ExpositionFormat) -> [UInt8] {
        // One buffer sized for the whole body up front (~140 bytes a sample with two labels), so a
        // 10,000-identity scrape does not regrow and copy it a dozen times.
        let samples = families.values.reduce(0) { $0 + $1.samples.count }
        var writer = ExpositionWriter(format: format, reserving: max(16 * 1024, samples * 144))
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
        let prefix = LabelPrefix(d)
        family.samples.withUnsafeBufferPointer { samples in
            // Sort indices, not samples: moving a Sample retains and releases its strings.
            var order = Array(samples.indices)
            if !Self.isSorted(samples) {
                order.sort { Self.sampleOrder(samples[$0], samples[$1]) }
            }
            var previous: Int?
            for index in order {
                // Two producers must never emit the same series; keep the first rather than emit an
                // invalid exposition.
                if let previous, Self.sameSeries(samples[previous], samples[index]) { continue }
                previous = index
                writeSample(d, prefix, samples[index])
            }
        }
    }

    private static func isSorted(_ samples: UnsafeBufferPointer<Sample>) -> Bool {
        var index = 1
        while index < samples.count {
            if sampleOrder(samples[index], samples[index - 1]) { return false }
            index += 1
        }
        return true
    }

    private static func sameSeries(_ a: Sample, _ b: Sample) -> Bool {
        a.labelValues == b.labelValues && a.suffix == b.suffix && a.extraLabel?.value == b.extraLabel?.value
    }

    public mutating func finish() -> [UInt8] {
        if format == .openMetrics { append("# EOF\n") }
        return out
    }

    /// A family's constant text, rendered once per scrape: `name{label1="` and `",label2="`….
    private struct LabelPrefix {
        var head: [UInt8]
        var separators: [[UInt8]]

        init(_ d: MetricDescriptor) {
            head = Array(d.name.utf8)
            separators = []
            guard let first = d.labels.first else { return }
            head += Array("{\(first)=\"".utf8)
            separators = d.labels.dropFirst().map { Array("\",\($0)=\"".utf8) }
        }
    }

    private mutating func writeSample(_ d: MetricDescriptor, _ prefix: LabelPrefix, _ sample: Sample) {
        // Fast path (every sample but histogram buckets/sums/counts): constant text pre-rendered.
        if sample.suffix.isEmpty, sample.extraLabel == nil, !d.labels.isEmpty,
            sample.labelValues.count == d.labels.count
        {
            out.append(contentsOf: prefix.head)
            sample.labelValues.withUnsafeBufferPointer { values in
                for i in values.indices {
                    if i > 0 { out.append(contentsOf: prefix.separators[i - 1]) }
                    appendEscaped(values[i], quotes: true)
                }
            }
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: "}"), UInt8(ascii: " ")])
            appendValue(sample.value)
            out.append(UInt8(ascii: "\n"))
            return
        }
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
        appendValue(sample.value)
        out.append(UInt8(ascii: "\n"))
    }

    /// ``formatValue(_:)`` without a String for the common case, an integral value.
    private mutating func appendValue(_ v: Double) {
        guard v.isFinite, v == v.rounded(), abs(v) < 1e15 else {
            append(Self.formatValue(v))
            return
        }
        var n = Int64(v)
        if n == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        if n < 0 {
            out.append(UInt8(ascii: "-"))
            n = -n
        }
        var digits: (UInt64, UInt64) = (0, 0)  // 16 bytes: enough for |n| < 1e15
        withUnsafeMutableBytes(of: &digits) { raw in
            var i = raw.count
            while n > 0 {
                i -= 1
                raw[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            }
            out.append(contentsOf: raw[i...])
        }
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
        // Fast path: nothing to escape (nearly always), copy the bytes at once.
        let copied = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for byte in bytes where byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\n") || (quotes && byte == 0x22) {
                return false
            }
            out.append(contentsOf: bytes)
            return true
        }
        if copied == true { return }
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
        // One pass over the label values (the same order as `lexicographicallyPrecedes`).
        let count = min(a.labelValues.count, b.labelValues.count)
        var i = 0
        while i < count {
            let x = a.labelValues[i]
            let y = b.labelValues[i]
            if x != y { return x < y }
            i += 1
        }
        if a.labelValues.count != b.labelValues.count { return a.labelValues.count < b.labelValues.count }
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
