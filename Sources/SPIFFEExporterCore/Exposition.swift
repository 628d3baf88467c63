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
    /// Writers of sample lines in exposition order (see ``SeriesLineFormat``), run at render time
    /// before `samples` are written. Only the producer that owns a family renders it this way.
    public var lineWriters: [LineWriter] = []

    public struct LineWriter: Sendable {
        public var estimatedBytes: Int
        public var write: @Sendable (inout [UInt8]) -> Void
    }

    public init(_ descriptor: MetricDescriptor, samples: [Sample] = []) {
        self.descriptor = descriptor
        self.samples = samples
    }
}

/// Collects families from several producers, merges those with the same name and renders them
/// sorted by name, series sorted by label values, so output is stable and diffable.
public struct ScrapeBuilder: Sendable {
    private var families: [String: MetricFamily] = [:]
    /// Labels derived from the SPIFFE ID, added to every family with a `spiffe_id` label: to the
    /// samples here at render time; producers that write lines themselves add them (see
    /// ``IdentityMetrics``).
    public let spiffeIDLabels: SPIFFEIDLabels

    public init(spiffeIDLabels: SPIFFEIDLabels = .none) {
        self.spiffeIDLabels = spiffeIDLabels
    }

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
        families[family.descriptor.name]?.lineWriters.append(contentsOf: family.lineWriters)
    }

    /// Adds a family whose sample lines its producer writes at render time, straight into the
    /// response (high-cardinality families: no `Sample` per series).
    public mutating func add(
        _ descriptor: MetricDescriptor, estimatedBytes: Int, lines: @escaping @Sendable (inout [UInt8]) -> Void
    ) {
        if families[descriptor.name] == nil { families[descriptor.name] = MetricFamily(descriptor) }
        families[descriptor.name]?.lineWriters.append(MetricFamily.LineWriter(estimatedBytes: estimatedBytes, write: lines))
    }

    /// Adds a family with no samples so its HELP/TYPE appear even before any series exists.
    public mutating func declare(_ descriptor: MetricDescriptor) {
        add(descriptor, [])
    }

    public func render(_ format: ExpositionFormat) -> [UInt8] {
        // One buffer sized for the whole body up front (~140 bytes a sample with two labels), so a
        // 10,000-identity scrape does not regrow and copy it a dozen times.
        let samples = families.values.reduce(0) { $0 + $1.samples.count }
        let rendered = families.values.reduce(0) { $0 + $1.lineWriters.reduce(0) { $0 + $1.estimatedBytes } }
        var writer = ExpositionWriter(format: format, reserving: max(16 * 1024, samples * 144 + rendered + families.count * 256))
        for name in families.keys.sorted() {
            guard let family = families[name] else { continue }
            writer.write(spiffeIDLabels.widen(family))
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
        for writer in family.lineWriters { writer.write(&out) }
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

    private mutating func appendValue(_ v: Double) {
        Self.appendValue(v, to: &out)
    }

    /// ``formatValue(_:)`` without a String for the common case, an integral value.
    static func appendValue(_ v: Double, to out: inout [UInt8]) {
        guard v.isFinite, v == v.rounded(), abs(v) < 1e15 else {
            out.append(contentsOf: formatValue(v).utf8)
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
        Self.appendEscaped(s, quotes: quotes, to: &out)
    }

    static func appendEscaped(_ s: String, quotes: Bool, to out: inout [UInt8]) {
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

/// How sample lines of one family are written straight into bytes by a producer that emits many
/// series in exposition order (the per-identity families), so no `Sample`, label array or sort is
/// made per series. Leading label values are escaped once into a ``LabelTable`` shared by the
/// identity's families.
public struct SeriesLineFormat: Sendable {
    private let head: [UInt8]
    private let trailingLabel: [UInt8]

    public init(_ descriptor: MetricDescriptor) {
        head = Array("\(descriptor.name){".utf8)
        trailingLabel = descriptor.labels.count > 1 ? Array(",\(descriptor.labels[descriptor.labels.count - 1])=\"".utf8) : []
    }

    /// Bytes of a line that do not depend on label values or the value.
    public var fixedBytes: Int { head.count + trailingLabel.count + 4 }

    /// A series whose label values are exactly `labels` (rendered by a ``LabelTable``).
    public func write(_ labels: UnsafeBufferPointer<UInt8>, _ value: Double, to out: inout [UInt8]) {
        out.append(contentsOf: head)
        out.append(contentsOf: labels)
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: " "))
        ExpositionWriter.appendValue(value, to: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// A series whose label values are `labels` followed by the descriptor's last label = `last`.
    public func write(_ labels: UnsafeBufferPointer<UInt8>, last: String, _ value: Double, to out: inout [UInt8]) {
        out.append(contentsOf: head)
        out.append(contentsOf: labels)
        out.append(contentsOf: trailingLabel)
        ExpositionWriter.appendEscaped(last, quotes: true, to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: " "))
        ExpositionWriter.appendValue(value, to: &out)
        out.append(UInt8(ascii: "\n"))
    }
}

/// Rows of leading label pairs (`source="a",spiffe_id="b"`), escaped once into one buffer and
/// shared by every family of a row; the label names are fixed per table.
public struct LabelTable: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var ends: [Int] = []
    private let names: [[UInt8]]

    public init(names: [String] = ["source", "spiffe_id"]) {
        self.names = names.enumerated().map { Array(($0.offset > 0 ? "," : "").utf8) + Array("\($0.element)=\"".utf8) }
    }

    public var count: Int { ends.count }

    public mutating func append(_ values: [String]) {
        for (name, value) in zip(names, values) {
            bytes.append(contentsOf: name)
            ExpositionWriter.appendEscaped(value, quotes: true, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        ends.append(bytes.count)
    }

    /// Calls `body` with each row's index and rendered labels, in order.
    public func forEachRow(_ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
        bytes.withUnsafeBufferPointer { all in
            var start = 0
            for (row, end) in ends.enumerated() {
                body(row, UnsafeBufferPointer(rebasing: all[start..<end]))
                start = end
            }
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
