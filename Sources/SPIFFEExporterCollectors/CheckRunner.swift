import Foundation
import Logging
import SPIFFEExporterCore

/// One Workload API fetch by running the real collector until it has synced or failed.
public enum WorkloadAPICheck {
    /// `store` receives what was fetched, so later checks (served-certificate probes) can use it.
    public static func run(
        address: WorkloadEndpointAddress, timeout: Double, audiences: [[String]], thresholds: CheckThresholds,
        store: IdentityStore = IdentityStore()
    ) async -> (identities: [CheckIdentity], failures: [CheckSourceFailure]) {
        let source = "workload_api"
        let registry = MetricsRegistry()
        let configuration = WorkloadAPICollectorConfiguration(
            source: source, address: address, firstResponseTimeout: .milliseconds(Int(timeout * 1000)),
            // One attempt: no retry inside the check window.
            backoff: Backoff(initial: 3600, multiplier: 1, cap: 3600), fetchBundles: true, jwtAudiences: audiences)
        let collector = WorkloadAPICollector(
            configuration: configuration, store: store, registry: registry,
            logger: Logger(label: "check") { _ in SwiftLogNoOpLogHandler() })
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000) + 2000)
        func failureReason() -> ConnectionFailureReason? {
            ConnectionFailureReason.allCases.first { reason in
                reason != .malformedResponse
                    && (registry.value(MetricCatalog.workloadAPIConnectionFailures, [source, reason.rawValue]) ?? 0) > 0
            }
        }
        func done() -> Bool {
            if failureReason() != nil { return true }
            let svidsDone = store.unsyncedSources().isEmpty
            let bundlesDone = (registry.value(MetricCatalog.workloadAPIUpdates, [source, "FetchX509Bundles"]) ?? 0) > 0
            let jwtDone = audiences.isEmpty
                || (registry.value(MetricCatalog.workloadAPIUpdates, [source, "FetchJWTSVID"]) ?? 0) >= Double(audiences.count)
            return svidsDone && bundlesDone && jwtDone
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await collector.run() }
            while !done() && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
        }
        let now = Date()
        var identities: [CheckIdentity] = []
        var failures: [CheckSourceFailure] = []
        let snapshot = await store.snapshot(now: now).first { $0.source == source }
        for report in snapshot?.svids ?? [] {
            let bundle = report.trustDomain.flatMap { snapshot?.bundles[$0] }
            identities.append(CheckEvaluator.x509(report, source: source, bundle: bundle, thresholds: thresholds, now: now))
        }
        for report in snapshot?.jwtSVIDs ?? [] {
            identities.append(CheckEvaluator.jwt(report, source: source, thresholds: thresholds, now: now))
        }
        if let reason = failureReason() {
            failures.append(
                CheckSourceFailure(
                    source: source, target: address.description, reason: reason.rawValue, detail: "",
                    hint: CheckEvaluator.hint(for: reason, target: address.description)))
        } else if !done() {
            failures.append(
                CheckSourceFailure(
                    source: source, target: address.description, reason: ConnectionFailureReason.timeout.rawValue,
                    detail: "no complete answer within \(CheckFormatter.duration(timeout))",
                    hint: CheckEvaluator.hint(for: .timeout, target: address.description)))
        }
        return (identities, failures)
    }
}

/// Checks a spiffe-helper output directory read once from disk.
public enum DirectoryCheck {
    static let maximumFileSize = 1 << 20

    public static func run(name: String, path: String, thresholds: CheckThresholds) async
        -> (identities: [CheckIdentity], failures: [CheckSourceFailure])
    {
        func read(_ file: String) -> Result<[UInt8], CheckSourceFailure> {
            let full = (path as NSString).appendingPathComponent(file)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: full) else {
                return .failure(
                    CheckSourceFailure(
                        source: name, target: full, reason: "not_found", detail: "",
                        hint: "Is spiffe-helper running and writing to \(path) (cert_dir), with these file names?"))
            }
            if let size = attributes[.size] as? Int, size > maximumFileSize {
                return .failure(
                    CheckSourceFailure(source: name, target: full, reason: "file_too_large", detail: "\(size) bytes", hint: "Not an SVID file?"))
            }
            guard let data = FileManager.default.contents(atPath: full) else {
                return .failure(
                    CheckSourceFailure(
                        source: name, target: full, reason: "permission_denied", detail: "",
                        hint: "Run the check as a user that may read the files (key_file_mode/cert_file_mode of spiffe-helper)."))
            }
            return .success(Array(data))
        }
        let cert: [UInt8]
        switch read("svid.pem") {
        case .success(let bytes): cert = bytes
        case .failure(let failure): return ([], [failure])
        }
        var failures: [CheckSourceFailure] = []
        var key: [UInt8]?
        switch read("svid_key.pem") {
        case .success(let bytes): key = bytes
        case .failure(let failure): failures.append(failure)
        }
        var bundle: TrustBundle?
        switch read("svid_bundle.pem") {
        case .success(let bytes): bundle = TrustBundle(trustDomain: nil, pem: bytes)
        case .failure(let failure): failures.append(failure)
        }
        let now = Date()
        let material = X509SVIDMaterial.fromPEM(certificatePEM: cert, keyPEM: key)
        let report = await X509SVIDAnalyzer.analyze(material, bundles: BundleSet(own: bundle), now: now)
        return ([CheckEvaluator.x509(report, source: name, bundle: bundle, thresholds: thresholds, now: now)], failures)
    }
}

/// Probes each TLS target once and compares what it presents with the newest SVID the check
/// fetched: the `check` row of the served-certificate probe.
public enum ProbeCheck {
    public static func run(targets: [ProbeTarget], store: IdentityStore, timeout: Double, thresholds: CheckThresholds) async
        -> [CheckIdentity]
    {
        guard !targets.isEmpty else { return [] }
        var configuration = ProbeConfiguration(targets: targets)
        configuration.timeout = .seconds(timeout)
        let collector = ProbeCollector(
            configuration: configuration, identities: StoreProbeIdentities(store: store), registry: MetricsRegistry(),
            logger: Logger(label: "check") { _ in SwiftLogNoOpLogHandler() })
        var rows: [CheckIdentity] = []
        for target in targets {
            let result = await collector.probe(target)
            let now = Date()
            let served = result.served
            var status = CheckStatus.ok
            var summary: String
            var problems: [String] = []
            if let failure = result.failure {
                status = .critical
                problems = [failure.rawValue]
                summary = "probe failed: \(failure.rawValue)" + (result.detail.isEmpty ? "" : " (\(result.detail))")
            } else {
                switch result.freshness {
                case .current: summary = "serves the newest SVID"
                case .unknown: summary = "served SVID not compared: no newer SVID known for it"
                case .stale:
                    status = .warning
                    summary = "serves a superseded SVID (stale for \(CheckFormatter.duration(result.freshness.staleSeconds(at: now) ?? 0))): reload missed"
                }
            }
            let remaining = served.map { $0.leaf.notAfter.timeIntervalSince(now) }
            if status == .ok, let remaining, let leaf = served?.leaf {
                let (timeStatus, timeSummary) = CheckEvaluator.classify(
                    problems: [], remaining: remaining, lifetime: leaf.lifetime, thresholds: thresholds)
                if timeStatus > status { (status, summary) = (timeStatus, timeSummary) }
            }
            rows.append(
                CheckIdentity(
                    source: "probe:" + target.name, kind: "served", spiffeID: served?.spiffeID ?? target.spiffeID ?? "-",
                    audience: nil, expiresAt: served?.leaf.notAfter, expiresInSeconds: remaining,
                    lifetimeUsedPercent: served.flatMap { s in
                        s.leaf.lifetime > 0 ? min(100, max(0, now.timeIntervalSince(s.leaf.notBefore) / s.leaf.lifetime * 100)) : nil
                    },
                    problems: problems, bundleCAExpiresAt: nil, status: status, summary: summary))
        }
        return rows
    }
}
