import Foundation
import SPIFFEExporterCore
import Testing

@Suite struct ExpositionTests {
    let gauge = MetricDescriptor("test_gauge", .gauge, "A gauge.", labels: ["source", "spiffe_id"])
    let counter = MetricDescriptor("test_events_total", .counter, "Events.", labels: ["reason"])

    func text(_ builder: ScrapeBuilder, _ format: ExpositionFormat = .prometheusText) -> String {
        String(decoding: builder.render(format), as: UTF8.self)
    }

    @Test func sortsFamiliesAndSeriesAndEscapesLabelValues() {
        var b = ScrapeBuilder()
        b.add(gauge, [Sample(["s", "z"], 2), Sample(["s", "a\"b\\c\nd"], 1.5)])
        b.add(counter, [Sample(["x"], 3)])
        #expect(
            text(b) == """
                # HELP test_events_total Events.
                # TYPE test_events_total counter
                test_events_total{reason="x"} 3
                # HELP test_gauge A gauge.
                # TYPE test_gauge gauge
                test_gauge{source="s",spiffe_id="a\\"b\\\\c\\nd"} 1.5
                test_gauge{source="s",spiffe_id="z"} 2

                """)
    }

    @Test func openMetricsNamesCountersWithoutTotalAndEndsWithEOF() {
        var b = ScrapeBuilder()
        b.add(counter, [Sample(["x"], 3)])
        let om = text(b, .openMetrics)
        #expect(om.contains("# TYPE test_events counter\n"))
        #expect(om.contains("# HELP test_events Events.\n"))
        #expect(om.contains("test_events_total{reason=\"x\"} 3\n"))
        #expect(om.hasSuffix("# EOF\n"))
        #expect(!text(b).contains("# EOF"))
    }

    @Test func helpTextIsEscaped() {
        var b = ScrapeBuilder()
        b.declare(MetricDescriptor("m", .gauge, "line1\nback\\slash"))
        #expect(text(b) == "# HELP m line1\\nback\\\\slash\n# TYPE m gauge\n")
    }

    @Test func duplicateSeriesAreEmittedOnce() {
        var b = ScrapeBuilder()
        b.add(gauge, [Sample(["s", "a"], 1)])
        b.add(gauge, [Sample(["s", "a"], 2)])
        #expect(text(b).components(separatedBy: "test_gauge{").count == 2)
    }

    @Test(arguments: [
        (1.0, "1"), (0.0, "0"), (-3.0, "-3"), (1.5, "1.5"), (1_893_456_000.0, "1893456000"),
        (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"), (1e20, "1e+20"),
    ])
    func valueFormatting(_ value: Double, _ expected: String) {
        #expect(ExpositionWriter.formatValue(value) == expected)
    }

    @Test func negotiation() {
        #expect(ExpositionFormat.negotiate(accept: nil) == .prometheusText)
        #expect(ExpositionFormat.negotiate(accept: "text/plain;version=0.0.4") == .prometheusText)
        #expect(
            ExpositionFormat.negotiate(
                accept: "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            ) == .openMetrics)
    }
}

@Suite struct MetricsRegistryTests {
    @Test func countersHistogramsAndPreZeroing() {
        let registry = MetricsRegistry()
        let failures = MetricCatalog.workloadAPIConnectionFailures
        registry.preZero(failures, [["s", "timeout"], ["s", "other"]])
        registry.increment(failures, ["s", "timeout"])
        registry.increment(failures, ["s", "timeout"])
        registry.preZero(failures, [["s", "timeout"]])
        #expect(registry.value(failures, ["s", "timeout"]) == 2)
        #expect(registry.value(failures, ["s", "other"]) == 0)

        let latency = MetricCatalog.workloadAPIRequestDuration
        registry.observe(latency, ["s", "FetchX509SVID"], 0.5)
        registry.observe(latency, ["s", "FetchX509SVID"], 20)
        #expect(registry.observationCount(latency, ["s", "FetchX509SVID"]) == 2)
        var builder = ScrapeBuilder()
        registry.collect(into: &builder)
        let text = String(decoding: builder.render(.prometheusText), as: UTF8.self)
        #expect(text.contains(#"spiffe_workload_api_request_duration_seconds_bucket{source="s",rpc="FetchX509SVID",le="0.25"} 0"#))
        #expect(text.contains(#"spiffe_workload_api_request_duration_seconds_bucket{source="s",rpc="FetchX509SVID",le="0.5"} 1"#))
        #expect(text.contains(#"spiffe_workload_api_request_duration_seconds_bucket{source="s",rpc="FetchX509SVID",le="10.0"} 1"#))
        #expect(text.contains(#"spiffe_workload_api_request_duration_seconds_bucket{source="s",rpc="FetchX509SVID",le="+Inf"} 2"#))
        #expect(text.contains(#"spiffe_workload_api_request_duration_seconds_sum{source="s",rpc="FetchX509SVID"} 20.5"#))
        #expect(text.contains(#"spiffe_workload_api_request_duration_seconds_count{source="s",rpc="FetchX509SVID"} 2"#))
        // Buckets come in ascending order, then _sum, then _count.
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("spiffe_workload_api_request_duration") }
        #expect(lines.first?.contains("le=\"0.005\"") == true)
        #expect(lines.last?.contains("_count") == true)
    }
}

@Suite struct SmallParsersTests {
    @Test func backoffDoublesCapsAndResets() {
        var b = Backoff(initial: .seconds(1), multiplier: 2, cap: .seconds(30))
        let ceilings = (0..<8).map { _ in b.next(jitter: 0.999_999) }
        #expect(ceilings.map { $0.seconds.rounded() } == [1, 2, 4, 8, 16, 30, 30, 30])
        var c = Backoff(initial: .seconds(1), multiplier: 2, cap: .seconds(30))
        // Equal jitter: never below half the ceiling.
        #expect(c.next(jitter: 0) == .milliseconds(500))
        c.reset()
        #expect(c.attempt == 0)
        // The sum of delays over a 60 s outage bounds the reconnect attempts: at most ~10.
        var d = Backoff()
        var elapsed = Duration.zero
        var attempts = 0
        while elapsed < .seconds(60) {
            elapsed += d.next(jitter: 0)
            attempts += 1
        }
        #expect(attempts <= 10)
    }

    @Test(arguments: [("10s", 10.0), ("500ms", 0.5), ("1m30s", 90.0), ("2h", 7200.0), ("1d", 86400.0), ("1.5s", 1.5)])
    func durations(_ text: String, _ seconds: Double) throws {
        #expect(try DurationText.seconds(text) == seconds)
    }

    @Test(arguments: ["", "s", "10x", "-1s", "1 s", "abc", "3", "1e3"])
    func badDurations(_ text: String) {
        #expect(throws: DurationText.ParseError.self) { try DurationText.seconds(text) }
    }

    @Test func listenAddresses() throws {
        #expect(try ListenAddress(parsing: ":9841") == ListenAddress(host: "0.0.0.0", port: 9841))
        #expect(try ListenAddress(parsing: "127.0.0.1:0") == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(try ListenAddress(parsing: "[::1]:9841") == ListenAddress(host: "::1", port: 9841))
        #expect(try ListenAddress(parsing: "localhost:80") == ListenAddress(host: "localhost", port: 80))
        #expect(throws: ListenAddress.ParseError.self) { try ListenAddress(parsing: "9841") }
        #expect(throws: ListenAddress.ParseError.self) { try ListenAddress(parsing: ":99999") }
        #expect(throws: ListenAddress.ParseError.self) { try ListenAddress(parsing: "host:") }
    }
}
