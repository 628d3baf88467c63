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
        let board = SourceBoard()
        let timeLimit = Duration.seconds(timeout)
        let configuration = WorkloadAPICollectorConfiguration(
            source: source, address: address, firstResponseTimeout: timeLimit,
            // One attempt: no retry inside the check window.
            backoff: Backoff(initial: .seconds(3600), multiplier: 1, cap: .seconds(3600)), fetchBundles: true,
            jwtAudiences: audiences)
        func failureReason() -> ConnectionFailureReason? {
            board.health(source)?.lastFailureReason.flatMap(ConnectionFailureReason.init(rawValue:))
        }
        func done() -> Bool {
            if failureReason() != nil { return true }
            let svidsDone = board.health(source)?.synced == true
            let bundlesDone = (registry.value(MetricCatalog.workloadAPIUpdates, [source, "FetchX509Bundles"]) ?? 0) > 0
            // The JWT-SVIDs are verified against the JWT bundles (again when those arrive): wait for both.
            let jwtDone = audiences.isEmpty
                || ((registry.value(MetricCatalog.workloadAPIUpdates, [source, "FetchJWTSVID"]) ?? 0) >= Double(audiences.count)
                    && (registry.value(MetricCatalog.workloadAPIUpdates, [source, "FetchJWTBundles"]) ?? 0) > 0)
            return svidsDone && bundlesDone && jwtDone
        }
        await AgentConnections.with { connections in
            let collector = WorkloadAPICollector(
                configuration: configuration,
                context: CollectorContext(
                    store: store, board: board, registry: registry, connections: connections,
                    logger: Logger(label: "check") { _ in SwiftLogNoOpLogHandler() }))
            let deadline = ContinuousClock.now + timeLimit + .seconds(2)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await collector.run() }
                while !done() && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                group.cancelAll()
            }
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

/// Checks a spiffe-helper output directory read once from disk, the way the cert-files collector
/// reads it: same reader, same evaluation, same reason codes.
public enum DirectoryCheck {
    static let maximumFileSize = 1 << 20

    /// `store` receives the directory's bundles, so `check` can compare them with other channels.
    public static func run(
        name: String, path: String, names: SPIFFEHelperFileNames = SPIFFEHelperFileNames(), thresholds: CheckThresholds,
        store: IdentityStore? = nil
    ) async -> (identities: [CheckIdentity], failures: [CheckSourceFailure]) {
        func full(_ file: String) -> String { (path as NSString).appendingPathComponent(file) }
        func read(_ file: String) -> FileInput {
            switch CertFileReader.read(full(file), maxSize: maximumFileSize) {
            case .success(let read): .content(read.bytes)
            case .failure(let reason): .failed(reason)
            }
        }
        let svid = read(names.svid)
        // Without the certificate there is nothing else to check.
        if let reason = svid.failure {
            return (
                [],
                [
                    CheckSourceFailure(
                        source: name, target: full(names.svid), reason: reason.rawValue, detail: "",
                        hint: hint(for: reason, directory: path))
                ]
            )
        }
        let inputs = SPIFFEHelperInputs(svid: svid, key: names.key.map(read), bundle: names.bundle.map(read))
        let now = Date()
        let evaluation = await SPIFFEHelperEvaluator.evaluate(inputs, names: names, previousSPIFFEID: nil, now: now)
        store?.replaceBundles(source: name, bundles: evaluation.bundles)
        let failures = evaluation.problems.sorted { $0.key < $1.key }.map { file, reason in
            CheckSourceFailure(
                source: name, target: full(file), reason: reason.rawValue, detail: "", hint: hint(for: reason, directory: path))
        }
        let identities = evaluation.svid.map { svid in
            [CheckEvaluator.x509(svid.report, source: name, bundle: svid.bundles.own, thresholds: thresholds, now: now)]
        }
        return (identities ?? [], failures)
    }

    static func hint(for reason: CertFileLoadReason, directory: String) -> String {
        switch reason {
        case .notFound: "Is spiffe-helper running and writing to \(directory) (cert_dir), with these file names?"
        case .permissionDenied:
            "Run the check as a user that may read the files (key_file_mode/cert_file_mode of spiffe-helper)."
        case .fileTooLarge: "Not an SVID file?"
        case .parseError, .keyMismatch: "Half-written or corrupt: rerun in a moment; if it stays, spiffe-helper wrote bad content."
        case .symlinkLoop, .notRegularFile, .readError: "Check what the path points to (ls -lL)."
        }
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
            configuration: configuration, identities: StoreProbeIdentities(store: store, board: SourceBoard()), registry: MetricsRegistry(),
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

/// Reads the SPIRE agent once (GetInfo and/or the data file), the way the agent collector does:
/// the `check` row of the agent's own SVID.
public enum AgentCheck {
    /// `store` receives the report (its data-file bundle is a trust bundle channel for `check`).
    public static func run(configuration: AgentCollectorConfiguration, thresholds: CheckThresholds, store: IdentityStore = IdentityStore())
        async -> (identities: [CheckIdentity], failures: [CheckSourceFailure])
    {
        var reading = AgentReading(debugAPI: nil, dataFile: nil)
        await AgentConnections.with { connections in
            let collector = AgentCollector(
                configuration: configuration,
                context: CollectorContext(
                    store: store, board: SourceBoard(), registry: MetricsRegistry(), connections: connections,
                    logger: Logger(label: "check") { _ in SwiftLogNoOpLogHandler() }))
            reading = await collector.read()
        }
        let now = Date()
        let source = configuration.source
        let report = reading.report(previousDataFile: nil)
        if let report { store.replaceAgent(source: source, report: report, issuedAt: now, now: now) }
        let identities = report.map { [CheckEvaluator.agent($0, source: source, thresholds: thresholds, now: now)] }
        let failures = reading.failures.map { channel, failure in
            CheckSourceFailure(
                source: source,
                target: channel == .debugAPI
                    ? configuration.adminAddress.map { "\($0)" } ?? "-" : configuration.dataFile ?? "-",
                reason: failure.reason.rawValue, detail: failure.detail, hint: failure.reason.hint(channel: channel))
        }
        return (identities ?? [], failures)
    }
}

/// The trust bundle disagreements among what one `check` read: every channel once, so nothing is
/// behind for a measured time.
public enum BundleConsistencyCheck {
    public static func run(store: IdentityStore, now: Date) async -> [CheckIdentity] {
        var tracker = TrustBundleConsistencyTracker()
        let channels = BundleChannel.channels(from: await store.snapshot(now: now))
        return CheckEvaluator.bundleConsistency(tracker.observe(channels, now: now))
    }
}

/// One fetch of each federation bundle endpoint, after the other sources were read (an
/// `https_spiffe` endpoint's SVID is verified against their bundles). Each good bundle joins the
/// store as a trust bundle channel; each failure is a source failure with its reason.
public enum FederationCheck {
    public static func run(
        endpoints: [FederationEndpointConfiguration], timeout: Duration, store: IdentityStore
    ) async -> [CheckSourceFailure] {
        let context = CollectorContext(
            store: store, board: SourceBoard(), registry: MetricsRegistry(), connections: AgentConnections(),
            logger: Logger(label: "check") { _ in SwiftLogNoOpLogHandler() })
        var failures: [CheckSourceFailure] = []
        for endpoint in endpoints {
            let collector = FederationCollector(
                configuration: FederationCollectorConfiguration(endpoint: endpoint, timeout: timeout), context: context)
            let result = await collector.fetch()
            collector.record(result, now: Date())
            if case .failure(let failure) = result {
                failures.append(
                    CheckSourceFailure(
                        source: endpoint.name, target: endpoint.url.absoluteString, reason: failure.reason.rawValue,
                        detail: failure.detail, hint: failure.reason.hint))
            }
        }
        return failures
    }
}
