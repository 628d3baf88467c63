/// Prometheus metric types the exporter emits.
public enum MetricType: String, Sendable, Hashable {
    case counter, gauge, histogram
}

/// One metric family: the single source of truth for its name, type, help and label names.
public struct MetricDescriptor: Sendable, Hashable {
    public let name: String
    public let type: MetricType
    public let help: String
    public let labels: [String]
    public let buckets: [Double]

    public init(_ name: String, _ type: MetricType, _ help: String, labels: [String] = [], buckets: [Double] = []) {
        self.name = name
        self.type = type
        self.help = help
        self.labels = labels
        self.buckets = buckets
    }

    /// The family name as OpenMetrics wants it: counters drop their `_total` suffix.
    public var openMetricsName: String {
        type == .counter && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
    }
}

/// Every metric the exporter can emit. docs/metrics.md, alerts/ and dashboards/ are checked against
/// this list by a test, so a name exists here first.
public enum MetricCatalog {
    // MARK: X.509-SVIDs
    public static let x509SVIDExpiry = MetricDescriptor(
        "spiffe_x509_svid_expiry_timestamp_seconds", .gauge,
        "NotAfter of the X.509-SVID leaf certificate, in Unix seconds.", labels: ["source", "spiffe_id"])
    public static let x509SVIDIssued = MetricDescriptor(
        "spiffe_x509_svid_issued_timestamp_seconds", .gauge,
        "NotBefore of the X.509-SVID leaf certificate, in Unix seconds.", labels: ["source", "spiffe_id"])
    public static let x509SVIDIntermediateExpiry = MetricDescriptor(
        "spiffe_x509_svid_intermediate_expiry_timestamp_seconds", .gauge,
        "Earliest NotAfter of the intermediate CA certificates served with the X.509-SVID, in Unix seconds; absent without intermediates.",
        labels: ["source", "spiffe_id"])
    public static let x509SVIDExpiresIn = MetricDescriptor(
        "spiffe_x509_svid_expires_in_seconds", .gauge,
        "Seconds from the scrape until the X.509-SVID leaf expires; negative once expired.",
        labels: ["source", "spiffe_id"])
    public static let x509SVIDValid = MetricDescriptor(
        "spiffe_x509_svid_valid", .gauge,
        "1 if the X.509-SVID passes every check at scrape time, else 0.", labels: ["source", "spiffe_id"])
    public static let x509SVIDProblem = MetricDescriptor(
        "spiffe_x509_svid_problem", .gauge,
        "1 for each check the X.509-SVID fails at scrape time (reason: see docs/metrics.md).",
        labels: ["source", "spiffe_id", "reason"])

    // MARK: Trust bundles
    public static let bundleCertificates = MetricDescriptor(
        "spiffe_trust_bundle_certificates", .gauge,
        "Number of X.509 CA certificates in the trust bundle.", labels: ["source", "trust_domain"])
    public static let bundleValidCertificates = MetricDescriptor(
        "spiffe_trust_bundle_valid_certificates", .gauge,
        "Number of X.509 CA certificates in the trust bundle that are within their validity period.",
        labels: ["source", "trust_domain"])
    public static let bundleEarliestExpiry = MetricDescriptor(
        "spiffe_trust_bundle_earliest_expiry_timestamp_seconds", .gauge,
        "Soonest NotAfter among the bundle's CA certificates that are still valid, in Unix seconds.",
        labels: ["source", "trust_domain"])
    public static let bundleLatestExpiry = MetricDescriptor(
        "spiffe_trust_bundle_latest_expiry_timestamp_seconds", .gauge,
        "Latest NotAfter among the bundle's CA certificates (the bundle's horizon), in Unix seconds.",
        labels: ["source", "trust_domain"])

    public static let bundleCAExpiry = MetricDescriptor(
        "spiffe_trust_bundle_ca_expiry_timestamp_seconds", .gauge,
        "NotAfter of each CA certificate in the bundle, in Unix seconds; ca is its subject key identifier (hex).",
        labels: ["source", "trust_domain", "ca"])
    public static let bundleUpdates = MetricDescriptor(
        "spiffe_trust_bundle_updates_total", .counter,
        "Times the set of CA certificates of the trust domain's bundle changed (first sight included).",
        labels: ["source", "trust_domain"])

    // MARK: Workload API client
    public static let workloadAPIUp = MetricDescriptor(
        "spiffe_workload_api_up", .gauge,
        "1 while the FetchX509SVID stream of the source is open and has delivered a valid message.",
        labels: ["source"])
    public static let workloadAPIRequests = MetricDescriptor(
        "spiffe_workload_api_requests_total", .counter,
        "Workload API calls and streams, by final gRPC status code.", labels: ["source", "rpc", "code"])
    public static let workloadAPIConnectionFailures = MetricDescriptor(
        "spiffe_workload_api_connection_failures_total", .counter,
        "Failed Workload API connections or streams, by reason (see docs/metrics.md).",
        labels: ["source", "reason"])
    public static let workloadAPIRequestDuration = MetricDescriptor(
        "spiffe_workload_api_request_duration_seconds", .histogram,
        "Time from opening a Workload API stream or call to its first response.",
        labels: ["source", "rpc"],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    public static let workloadAPIUpdates = MetricDescriptor(
        "spiffe_workload_api_updates_total", .counter,
        "Messages received on Workload API streams (each replaces the previous state).",
        labels: ["source", "rpc"])
    public static let workloadAPILastUpdate = MetricDescriptor(
        "spiffe_workload_api_last_update_timestamp_seconds", .gauge,
        "When the last message was received on the stream, in Unix seconds.", labels: ["source", "rpc"])

    // MARK: Exporter
    public static let buildInfo = MetricDescriptor(
        "spiffe_exporter_build_info", .gauge,
        "A metric with a constant '1' value labeled by the exporter's version and revision.",
        labels: ["version", "revision"])
    public static let processCPU = MetricDescriptor(
        "process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.")
    public static let processResidentMemory = MetricDescriptor(
        "process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
    public static let processVirtualMemory = MetricDescriptor(
        "process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.")
    public static let processOpenFDs = MetricDescriptor(
        "process_open_fds", .gauge, "Number of open file descriptors.")
    public static let processMaxFDs = MetricDescriptor(
        "process_max_fds", .gauge, "Maximum number of open file descriptors.")
    public static let processStartTime = MetricDescriptor(
        "process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.")

    /// Every family; each capability contributes its own list (see the MetricCatalog+*.swift files).
    public static var all: [MetricDescriptor] {
        foundation + renewal + jwt + certFiles + delegated + probe + operations + agent + expectations + consistency
            + envoy
            + federation
    }

    static let foundation: [MetricDescriptor] = [
        x509SVIDExpiry, x509SVIDIssued, x509SVIDExpiresIn, x509SVIDValid, x509SVIDProblem, x509SVIDIntermediateExpiry,
        bundleCertificates, bundleValidCertificates, bundleEarliestExpiry, bundleLatestExpiry, bundleCAExpiry,
        bundleUpdates,
        workloadAPIUp, workloadAPIRequests, workloadAPIConnectionFailures, workloadAPIRequestDuration,
        workloadAPIUpdates, workloadAPILastUpdate,
        buildInfo, processCPU, processResidentMemory, processVirtualMemory, processOpenFDs, processMaxFDs,
        processStartTime,
    ]

    /// Every series name a family can produce (histograms add `_bucket`, `_sum`, `_count`).
    public static var allSeriesNames: Set<String> {
        var names: Set<String> = []
        for d in all {
            names.insert(d.name)
            if d.type == .histogram {
                names.formUnion([d.name + "_bucket", d.name + "_sum", d.name + "_count"])
            }
        }
        return names
    }
}
