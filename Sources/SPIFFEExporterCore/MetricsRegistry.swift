import Synchronization

/// Process-lifetime counters, gauges and histograms (the exporter's own instrumentation), kept in one
/// place so their families render with the per-identity series in a single sorted exposition.
/// Series created with ``preZero(_:_:)`` exist from start-up, so `rate()` and alerts are defined
/// before the first failure.
public final class MetricsRegistry: Sendable {
    private struct HistogramState: Sendable {
        var bucketCounts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private struct State: Sendable {
        var values: [String: [[String]: Double]] = [:]
        var histograms: [String: [[String]: HistogramState]] = [:]
        var descriptors: [String: MetricDescriptor] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func increment(_ d: MetricDescriptor, _ labels: [String], by amount: Double = 1) {
        state.withLock { s in
            s.descriptors[d.name] = d
            s.values[d.name, default: [:]][labels, default: 0] += amount
        }
    }

    public func set(_ d: MetricDescriptor, _ labels: [String], to value: Double) {
        state.withLock { s in
            s.descriptors[d.name] = d
            s.values[d.name, default: [:]][labels] = value
        }
    }

    /// Removes a gauge series (e.g. a source that was removed by a config reload).
    public func remove(_ d: MetricDescriptor, _ labels: [String]) {
        state.withLock { s in
            _ = s.values[d.name]?.removeValue(forKey: labels)
            _ = s.histograms[d.name]?.removeValue(forKey: labels)
        }
    }

    /// Drops every series whose `source` label is `source` (a source removed by a reload).
    public func removeSeries(source: String) {
        removeSeries(label: "source", value: source)
    }

    /// Drops every series whose `label` is `value` (e.g. a probe `target` removed by a reload).
    public func removeSeries(label: String, value: String) {
        state.withLock { s in
            for (name, d) in s.descriptors {
                guard let index = d.labels.firstIndex(of: label) else { continue }
                s.values[name] = s.values[name]?.filter { $0.key.count <= index || $0.key[index] != value }
                s.histograms[name] = s.histograms[name]?.filter { $0.key.count <= index || $0.key[index] != value }
            }
        }
    }

    public func value(_ d: MetricDescriptor, _ labels: [String]) -> Double? {
        state.withLock { $0.values[d.name]?[labels] }
    }

    /// Creates each series at zero if it does not exist yet.
    public func preZero(_ d: MetricDescriptor, _ labelSets: [[String]]) {
        state.withLock { s in
            s.descriptors[d.name] = d
            for labels in labelSets {
                if d.type == .histogram {
                    if s.histograms[d.name]?[labels] == nil {
                        s.histograms[d.name, default: [:]][labels] = HistogramState(
                            bucketCounts: Array(repeating: 0, count: d.buckets.count))
                    }
                } else if s.values[d.name]?[labels] == nil {
                    s.values[d.name, default: [:]][labels] = 0
                }
            }
        }
    }

    public func observe(_ d: MetricDescriptor, _ labels: [String], _ value: Double) {
        state.withLock { s in
            s.descriptors[d.name] = d
            var h = s.histograms[d.name]?[labels] ?? HistogramState(bucketCounts: Array(repeating: 0, count: d.buckets.count))
            for (i, bound) in d.buckets.enumerated() where value <= bound {
                h.bucketCounts[i] += 1
            }
            h.sum += value
            h.count += 1
            s.histograms[d.name, default: [:]][labels] = h
        }
    }

    /// Number of observations of a histogram series (tests and diagnostics).
    public func observationCount(_ d: MetricDescriptor, _ labels: [String]) -> UInt64 {
        state.withLock { $0.histograms[d.name]?[labels]?.count ?? 0 }
    }

    public func collect(into builder: inout ScrapeBuilder) {
        let snapshot = state.withLock { $0 }
        for (name, series) in snapshot.values {
            guard let d = snapshot.descriptors[name] else { continue }
            builder.add(d, series.map { Sample($0.key, $0.value) })
        }
        for (name, series) in snapshot.histograms {
            guard let d = snapshot.descriptors[name] else { continue }
            var samples: [Sample] = []
            samples.reserveCapacity(series.count * (d.buckets.count + 3))
            for (labels, h) in series {
                for (i, bound) in d.buckets.enumerated() {
                    samples.append(
                        Sample(labels, Double(h.bucketCounts[i]), suffix: "_bucket",
                            extraLabel: ("le", ExpositionWriter.formatBound(bound))))
                }
                samples.append(Sample(labels, Double(h.count), suffix: "_bucket", extraLabel: ("le", "+Inf")))
                samples.append(Sample(labels, h.sum, suffix: "_sum"))
                samples.append(Sample(labels, Double(h.count), suffix: "_count"))
            }
            builder.add(d, samples)
        }
    }
}
