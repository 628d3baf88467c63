import Dispatch
import Foundation
import Logging
import SPIFFEExporterCore
import ServiceLifecycle
import Synchronization

/// Timing knobs of the collector as a whole (per-source settings live in
/// ``CertFilesSourceConfiguration``).
public struct CertFilesCollectorSettings: Sendable {
    /// Events are coalesced for this long before a source is re-read (a rewrite is a burst).
    public var debounce: Duration
    /// The refresh interval is drawn from ±this fraction around its value, so many exporters do
    /// not re-read in step.
    public var refreshJitter: Double
    /// Off: only periodic rescans (tests use it to prove the safety net on its own).
    public var useInotify: Bool

    public init(debounce: Duration = .milliseconds(50), refreshJitter: Double = 0.1, useInotify: Bool = true) {
        self.debounce = debounce
        self.refreshJitter = refreshJitter
        self.useInotify = useInotify
    }
}

/// What one source did so far (diagnostics and tests; not exported).
public struct CertFilesSourceStatistics: Sendable, Hashable {
    /// Every read of the source, including reads held back to let a writer finish.
    public var evaluations = 0
    /// Reads that were counted in `spiffe_cert_file_loads_total`.
    public var loads = 0
    /// Reads whose problems were held back for the settle delay.
    public var holds = 0
    /// Problems of the last counted load, by file name (directories) or path (globs).
    public var lastProblems: [String: CertFileLoadReason] = [:]
    /// Directories watched with inotify after the last read.
    public var watchedDirectories: [String] = []
}

/// Watches certificate files — spiffe-helper directories and PEM globs — with inotify plus a
/// periodic jittered full re-read, and exports what it finds: SVIDs through the identity store
/// (the same `spiffe_x509_svid_*` and `spiffe_trust_bundle_*` families as the Workload API, with
/// `source` = the configured name), globbed certificates through ``contributor``, and its own
/// load counters, errors and durations through the registry.
///
/// Each source runs its own loop: events (debounced), rescans and settle re-reads all trigger one
/// evaluation. An evaluation stats every file and reads only those whose stamp changed; it
/// reparses only those whose content hash changed. Problems that may be a half-written file are
/// re-read after the source's settle delay before they are reported, and the previous good state
/// stays exported meanwhile.
public struct CertFilesCollector: Service {
    public let sources: [CertFilesSourceConfiguration]
    /// The `spiffe_certificate_*` series of glob sources; add it to ``ExporterMetrics``.
    public let contributor: CertificateFilesContributor
    let context: CollectorContext
    let settings: CertFilesCollectorSettings
    var store: IdentityStore { context.store }
    var registry: MetricsRegistry { context.registry }
    var logger: Logger { context.logger }
    var clock: @Sendable () -> Date { context.now }
    private let shared = SharedState()

    /// Statistics shared between the loops and readers (a struct cannot hold a Mutex itself).
    private final class SharedState: Sendable {
        let statistics = Mutex<[String: CertFilesSourceStatistics]>([:])
        let inotifyEvents = Atomic<Int>(0)
    }

    public init(
        sources: [CertFilesSourceConfiguration],
        context: CollectorContext,
        settings: CertFilesCollectorSettings = CertFilesCollectorSettings(),
        contributor: CertificateFilesContributor = CertificateFilesContributor()
    ) {
        self.sources = sources
        self.context = context
        self.settings = settings
        self.contributor = contributor
        for source in sources {
            Self.preZero(source: source.name, registry: context.registry)
            // Readiness waits for every source's first load (a glob of 10,000 files takes a moment):
            // a scrape right after /readyz must not miss certificates that are there.
            context.store.register(source: source.name)
            context.board.register(source.name, kind: .certFiles, now: context.now())
        }
    }

    static func preZero(source: String, registry: MetricsRegistry) {
        registry.preZero(MetricCatalog.certFileLoads, [[source, "success"], [source, "error"]])
        registry.preZero(MetricCatalog.certFileLoadErrors, CertFileLoadReason.allCases.map { [source, $0.rawValue] })
        registry.preZero(MetricCatalog.certFileLoadDuration, [[source]])
        registry.preZero(MetricCatalog.certFileLastChange, [[source]])
        registry.preZero(MetricCatalog.certFileLastLoadSuccess, [[source]])
    }

    public func statistics(source: String) -> CertFilesSourceStatistics {
        shared.statistics.withLock { $0[source] ?? CertFilesSourceStatistics() }
    }

    /// inotify events read so far, over all sources.
    public var inotifyEventCount: Int { shared.inotifyEvents.load(ordering: .relaxed) }

    public func run() async throws {
        guard !sources.isEmpty else {
            // A Service that returns ends the ServiceGroup: idle until shutdown instead.
            try? await gracefulShutdown()
            return
        }
        let channels = sources.map { _ in AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1)) }
        let triggers = channels.map(\.continuation)
        var watcher: InotifyWatcher?
        if settings.useInotify {
            watcher = InotifyWatcher(sourceCount: sources.count)
            if watcher == nil {
                logger.warning("inotify is unavailable; certificate files are only re-read periodically")
            }
        }
        let events = watcherEventsCounter()
        watcher?.start { triggered in
            events(triggered.count)
            for index in triggered where index < triggers.count { triggers[index].yield() }
        }
        logger.info(
            "starting certificate-files collector",
            metadata: ["sources": "\(sources.map(\.name).joined(separator: ","))", "inotify": "\(watcher != nil)"])
        let activeWatcher = watcher
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for (index, source) in self.sources.enumerated() {
                    let channel = channels[index]
                    group.addTask {
                        await self.runSource(
                            index: index, configuration: source, triggers: channel.stream,
                            trigger: channel.continuation, watcher: activeWatcher)
                    }
                }
            }
        }
        activeWatcher?.stop()
        for trigger in triggers { trigger.finish() }
    }

    private func watcherEventsCounter() -> @Sendable (Int) -> Void {
        let shared = self.shared
        return { count in shared.inotifyEvents.add(count, ordering: .relaxed) }
    }

    // MARK: Per-source loop

    private func runSource(
        index: Int, configuration: CertFilesSourceConfiguration, triggers: AsyncStream<Void>,
        trigger: AsyncStream<Void>.Continuation, watcher: InotifyWatcher?
    ) async {
        var runtime = SourceRuntime(configuration)
        await withDiscardingTaskGroup { group in
            group.addTask { await self.rescanLoop(configuration, trigger: trigger) }
            if let retry = await evaluate(index: index, configuration, &runtime, watcher: watcher) {
                group.addTask { await Self.fire(trigger, after: retry) }
            }
            for await _ in triggers {
                // Coalesce a burst of events (truncate, writes, close) into one read.
                do { try await Task.sleep(for: settings.debounce) } catch { break }
                if let retry = await evaluate(index: index, configuration, &runtime, watcher: watcher) {
                    group.addTask { await Self.fire(trigger, after: retry) }
                }
            }
            group.cancelAll()
        }
    }

    private static func fire(_ trigger: AsyncStream<Void>.Continuation, after seconds: TimeInterval) async {
        do {
            try await Task.sleep(for: .milliseconds(Int((max(0, seconds) * 1000).rounded(.up))))
        } catch {
            return
        }
        trigger.yield()
    }

    private func rescanLoop(
        _ configuration: CertFilesSourceConfiguration, trigger: AsyncStream<Void>.Continuation
    ) async {
        while !Task.isCancelled {
            let jitter =
                settings.refreshJitter > 0 ? Double.random(in: -settings.refreshJitter...settings.refreshJitter) : 0
            do { try await Task.sleep(for: configuration.refreshInterval * (1 + jitter)) } catch { return }
            trigger.yield()
        }
    }

    /// Returns the delay after which the source must be read again (settling), if any.
    private func evaluate(
        index: Int, _ configuration: CertFilesSourceConfiguration, _ runtime: inout SourceRuntime,
        watcher: InotifyWatcher?
    ) async -> TimeInterval? {
        switch configuration.kind {
        case .spiffeHelperDirectory(let path, let files):
            return await evaluateDirectory(
                index: index, configuration, path: path, files: files, &runtime.directory, watcher: watcher)
        case .glob:
            return await evaluateGlob(index: index, configuration, &runtime.glob, watcher: watcher)
        case .bundleFile(let path, let trustDomain):
            return await evaluateBundleFile(
                index: index, configuration, path: path, trustDomain: trustDomain, &runtime.directory, watcher: watcher)
        }
    }

    // MARK: Bootstrap bundle files

    /// One trust domain's CA certificates in one file: exported as the source's bundle (so the
    /// `spiffe_trust_bundle_*` families and the consistency channels see it). A file that cannot be
    /// read or holds no certificate leaves the source without a bundle, counted by reason: an
    /// unreadable copy is no copy to compare.
    private func evaluateBundleFile(
        index: Int, _ configuration: CertFilesSourceConfiguration, path: String, trustDomain: String,
        _ runtime: inout DirectoryRuntime, watcher: InotifyWatcher?
    ) async -> TimeInterval? {
        let started = ContinuousClock.now
        let source = configuration.name
        let maxSize = configuration.maxFileSize
        let detector = runtime.detector
        // The file's directory, as a directory holding that one file is watched.
        let files = SPIFFEHelperFileNames(svid: PathNames.lastComponent(of: path), key: nil, bundle: nil)
        let directory = PathNames.parent(of: path)
        let watches = await Self.offload { Self.directoryWatches(path: directory, files: files) }
        updateWatches(index: index, source: source, watches, watcher: watcher)
        let io = await Self.offload { () -> (ChangeDetector<[UInt8]>, Result<([UInt8], ContentDigest), CertFileLoadReason>) in
            var detector = detector
            let read = Self.readCached(path, detector: &detector, maxSize: maxSize, transform: { $0 })
            detector.retain([path])
            return (detector, read)
        }
        runtime.detector = io.0
        var problems: [String: CertFileLoadReason] = [:]
        var bundle: TrustBundle?
        let fingerprint: [FileFingerprint]
        switch io.1 {
        case .success(let (bytes, digest)):
            fingerprint = [.content(digest)]
            let parsed = Self.bundle(bytes, trustDomain: trustDomain)
            // The roots that decode are kept even when another block is garbage.
            if parsed.decodeError != nil || parsed.certificates.isEmpty { problems[path] = .parseError }
            if !parsed.certificates.isEmpty { bundle = parsed }
        case .failure(let reason):
            fingerprint = [.failed(reason)]
            problems[path] = reason
        }
        if case .hold(let retryAt) = runtime.gate.evaluate(
            problems: Set(problems.values), fingerprint: fingerprint, now: Self.monotonicNow())
        {
            updateStatistics(source) { s in
                s.evaluations += 1
                s.holds += 1
            }
            return retryAt.timeIntervalSince(Self.monotonicNow())
        }
        let now = clock()
        if runtime.published != fingerprint {
            store.replaceBundles(source: source, bundles: bundle.map { [trustDomain: $0] } ?? [:])
            registry.set(MetricCatalog.certFileLastChange, [source], to: now.timeIntervalSince1970)
            runtime.published = fingerprint
            if problems.isEmpty {
                logger.info(
                    "bundle file loaded",
                    metadata: ["source": "\(source)", "trust_domain": "\(trustDomain)", "certificates": "\(bundle?.certificates.count ?? 0)"])
            } else {
                logger.warning(
                    "bundle file has problems",
                    metadata: ["source": "\(source)", "problems": "\(Self.describe(problems))", "detail": "\(bundle?.decodeError ?? "")"])
            }
        }
        recordLoad(source: source, problems: problems, started: started, now: now)
        context.board.delivered(source, what: "bundle file", now: now)
        return nil
    }

    /// PEM `CERTIFICATE` blocks, or one DER certificate sequence when the file holds no PEM.
    static func bundle(_ bytes: [UInt8], trustDomain: String) -> TrustBundle {
        let pem = TrustBundle(trustDomain: trustDomain, pem: bytes)
        guard pem.certificates.isEmpty, !bytes.starts(with: Array("-----".utf8)),
            !String(decoding: bytes.prefix(4096), as: UTF8.self).contains("-----BEGIN")
        else { return pem }
        let der = TrustBundle(trustDomain: trustDomain, der: bytes)
        return der.certificates.isEmpty ? pem : der
    }

    // MARK: spiffe-helper directories

    private func evaluateDirectory(
        index: Int, _ configuration: CertFilesSourceConfiguration, path: String, files: SPIFFEHelperFileNames,
        _ runtime: inout DirectoryRuntime, watcher: InotifyWatcher?
    ) async -> TimeInterval? {
        let started = ContinuousClock.now
        let source = configuration.name
        let names = files.all
        let maxSize = configuration.maxFileSize
        let detector = runtime.detector
        // Watch first, then read: a write after the watch is in place cannot go unnoticed.
        let watches = await Self.offload { Self.directoryWatches(path: path, files: files) }
        updateWatches(index: index, source: source, watches, watcher: watcher)
        let io = await Self.offload {
            () -> (ChangeDetector<[UInt8]>, [FileInput], [FileFingerprint], [String: WatchFilter]) in
            var detector = detector
            var inputs: [FileInput] = []
            var fingerprints: [FileFingerprint] = []
            var paths: Set<String> = []
            for name in names {
                let filePath = PathNames.join(path, name)
                paths.insert(filePath)
                switch Self.readCached(filePath, detector: &detector, maxSize: maxSize, transform: { $0 }) {
                case .success(let (bytes, digest)):
                    inputs.append(.content(bytes))
                    fingerprints.append(.content(digest))
                case .failure(let reason):
                    inputs.append(.failed(reason))
                    fingerprints.append(.failed(reason))
                }
            }
            detector.retain(paths)
            return (detector, inputs, fingerprints, Self.directoryWatches(path: path, files: files))
        }
        runtime.detector = io.0
        let fingerprint = io.2
        // The layout changed while the watches were set up (the directory appeared, a symlink
        // moved): read again with the right watches.
        let recheck: TimeInterval? = watcher != nil && io.3 != watches ? 0 : nil

        let now = clock()
        let evaluation: SPIFFEHelperEvaluation
        if let cached = runtime.evaluated, cached.fingerprint == fingerprint {
            evaluation = cached.evaluation
        } else {
            evaluation = await SPIFFEHelperEvaluator.evaluate(
                Self.inputs(io.1, files: files), names: files, previousSPIFFEID: runtime.previousSPIFFEID, now: now)
            runtime.evaluated = (fingerprint, evaluation)
        }
        let decision = runtime.gate.evaluate(
            problems: evaluation.reasons, fingerprint: fingerprint, now: Self.monotonicNow())
        if case .hold(let retryAt) = decision {
            updateStatistics(source) { s in
                s.evaluations += 1
                s.holds += 1
            }
            logger.debug(
                "certificate files look half-written; re-reading after the settle delay",
                metadata: ["source": "\(source)", "problems": "\(Self.describe(evaluation.problems))"])
            return min(retryAt.timeIntervalSince(Self.monotonicNow()), recheck ?? .infinity)
        }

        if runtime.published != fingerprint {
            if let svid = evaluation.svid {
                store.replaceSVIDs(
                    source: source,
                    entries: [IdentityStore.Entry(material: svid.material, bundles: svid.bundles, report: svid.report)],
                    bundles: evaluation.bundles, now: now)
                if svid.material.leaf != nil { runtime.previousSPIFFEID = svid.report.spiffeID }
            } else {
                store.replaceSVIDs(source: source, entries: [], bundles: evaluation.bundles, now: now)
            }
            publishJWTSVIDs(source: source, inputs: Self.inputs(io.1, files: files), now: now)
            registry.set(MetricCatalog.certFileLastChange, [source], to: now.timeIntervalSince1970)
            runtime.published = fingerprint
            if evaluation.problems.isEmpty {
                logger.info(
                    "certificate files loaded",
                    metadata: ["source": "\(source)", "spiffe_id": "\(evaluation.svid?.report.spiffeID ?? "")"])
            } else {
                logger.warning(
                    "certificate files have problems",
                    metadata: [
                        "source": "\(source)", "problems": "\(Self.describe(evaluation.problems))",
                        "detail": "\(evaluation.details.joined(separator: "; "))",
                    ])
            }
        }
        recordLoad(source: source, problems: evaluation.problems, started: started, now: now)
        context.board.delivered(source, what: "certificate files", now: now)
        return recheck
    }

    /// JWT-SVID files go through the same JWT-SVID families as the Workload API path; the audience
    /// label is the token's own `aud`. Tokens are kept only in the store's private state. A JWT
    /// bundle file without token files is still published: it is a copy of the JWT bundle that the
    /// consistency families compare.
    func publishJWTSVIDs(source: String, inputs: SPIFFEHelperInputs, now: Date) {
        guard !inputs.jwtSVIDs.isEmpty || inputs.jwtBundle != nil else { return }
        let bundles = inputs.jwtBundle?.bytes.map(SPIFFEHelperJWT.bundles) ?? [:]
        store.replaceJWTBundles(source: source, bundles: bundles)
        var byAudience: [String: [IdentityStore.JWTEntry]] = [:]
        for input in inputs.jwtSVIDs {
            guard let bytes = input.bytes else { continue }
            let report = SPIFFEHelperJWT.report(token: bytes, bundles: bundles)
            let token = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            byAudience[report.audience, default: []].append(
                IdentityStore.JWTEntry(
                    token: token, reportedSPIFFEID: "", audiences: report.audience.split(separator: ",").map(String.init),
                    report: report))
        }
        for (audience, entries) in byAudience {
            store.replaceJWTSVIDs(source: source, audience: audience, entries: entries, now: now)
        }
    }

    static func inputs(_ reads: [FileInput], files: SPIFFEHelperFileNames) -> SPIFFEHelperInputs {
        // `reads` follows `files.all`: svid, key?, bundle?, federated…, jwt…, jwt bundle?
        var cursor = reads.makeIterator()
        let missing = FileInput.failed(.readError)
        let svid = cursor.next() ?? missing
        let key = files.key.map { _ in cursor.next() ?? missing }
        let bundle = files.bundle.map { _ in cursor.next() ?? missing }
        let federated = files.federatedBundles.map { file in
            (trustDomain: file.trustDomain, input: cursor.next() ?? missing)
        }
        let jwt = files.jwtSVIDs.map { _ in cursor.next() ?? missing }
        let jwtBundle = files.jwtBundle.map { _ in cursor.next() ?? missing }
        return SPIFFEHelperInputs(
            svid: svid, key: key, bundle: bundle, federatedBundles: federated, jwtSVIDs: jwt, jwtBundle: jwtBundle)
    }

    /// The directory (its files), its parent (the directory replaced or created), and wherever
    /// symlinked files really live (a projected volume's `..<timestamp>` directory). A directory
    /// that does not exist yet is awaited from its closest existing ancestor.
    static func directoryWatches(path: String, files: SPIFFEHelperFileNames) -> [String: WatchFilter] {
        var watches: [String: WatchFilter] = [:]
        func add(_ directory: String, _ filter: WatchFilter) {
            watches[directory] = watches[directory].map { $0.merged(with: filter) } ?? filter
        }
        if case .success(let status) = CertFileReader.status(path), status.isDirectory {
            add(path, .names(Set(files.all), dotDot: true))
            add(PathNames.parent(of: path), .names([PathNames.lastComponent(of: path)], dotDot: false))
            let resolvedDirectory = PathNames.resolved(path)
            for name in files.all {
                guard let target = PathNames.resolved(PathNames.join(path, name)) else { continue }
                let targetDirectory = PathNames.parent(of: target)
                if targetDirectory != resolvedDirectory {
                    add(targetDirectory, .names([PathNames.lastComponent(of: target)], dotDot: false))
                }
            }
        } else {
            let (ancestor, child) = PathNames.closestExistingAncestor(of: path)
            add(ancestor, .names([child], dotDot: false))
        }
        return watches
    }

    // MARK: Globs

    private func evaluateGlob(
        index: Int, _ configuration: CertFilesSourceConfiguration, _ runtime: inout GlobRuntime,
        watcher: InotifyWatcher?
    ) async -> TimeInterval? {
        let started = ContinuousClock.now
        let source = configuration.name
        let maxSize = configuration.maxFileSize
        let patterns = runtime.patterns
        let detector = runtime.detector
        typealias Read = (payload: Result<CertificateFileSummary, CertFileLoadReason>, fingerprint: FileFingerprint)
        let walk = await Self.offload { GlobWalker.walk(patterns) }
        var watches: [String: WatchFilter] = [:]
        let everyDirectory = patterns.contains(where: \.matchesBelowRoot)
        let roots = Set(patterns.map(\.root))
        for directory in walk.directories where everyDirectory || roots.contains(directory) {
            watches[directory] = .any
        }
        for (ancestor, child) in walk.missingRoots {
            let filter = WatchFilter.names([child], dotDot: false)
            watches[ancestor] = watches[ancestor].map { $0.merged(with: filter) } ?? filter
        }
        // Directories watched for the first time may have changed between the walk and the watch:
        // walk once more (cheap once the files are cached) so nothing created meanwhile is missed.
        let added = updateWatches(index: index, source: source, watches, watcher: watcher)
        let recheck: TimeInterval? = added.isEmpty ? nil : 0
        let files = walk.files
        let io = await Self.offload {
            () -> (ChangeDetector<Result<CertificateFileSummary, CertFileLoadReason>>, [String: Read]) in
            var detector = detector
            var reads: [String: Read] = [:]
            reads.reserveCapacity(files.count)
            for path in files {
                switch Self.readCached(
                    path, detector: &detector, maxSize: maxSize, transform: CertificateFileSummary.parse)
                {
                case .success(let (payload, digest)): reads[path] = (payload, .content(digest))
                case .failure(let reason): reads[path] = (.failure(reason), .failed(reason))
                }
            }
            detector.retain(files)
            return (detector, reads)
        }
        runtime.detector = io.0
        let reads = io.1

        let now = clock()
        let monotonic = Self.monotonicNow()
        var published = runtime.published
        var publishedFingerprints = runtime.publishedFingerprints
        var reported: [String: CertFileLoadReason] = [:]
        // Reported files being re-read stay "reported" for the logs, so a file that stays broken
        // across rewrites is logged once, not at every rewrite.
        var stillReported: [String: CertFileLoadReason] = [:]
        var retryAt: Date?
        var holds = 0
        for (path, read) in reads {
            var problems: Set<CertFileLoadReason> = []
            if case .failure(let reason) = read.payload { problems.insert(reason) }
            var gate =
                runtime.gates[path]
                ?? SettleGate(settleDelay: configuration.settleDelay.seconds, maxSettle: configuration.maxSettle.seconds)
            switch gate.evaluate(problems: problems, fingerprint: read.fingerprint, now: monotonic) {
            case .publish:
                if case .success(let summary) = read.payload { published[path] = summary }
                publishedFingerprints[path] = read.fingerprint
            case .report:
                published[path] = nil
                publishedFingerprints[path] = read.fingerprint
                reported[path] = problems.min()
            case .hold(let at):
                // Keep what was exported for this file until it settles.
                holds += 1
                retryAt = min(retryAt ?? at, at)
                if let previous = runtime.reported[path] { stillReported[path] = previous }
            }
            runtime.gates[path] = gate
        }
        if runtime.gates.count != reads.count {
            runtime.gates = runtime.gates.filter { reads[$0.key] != nil }
        }
        if published.count != reads.count || publishedFingerprints.count != reads.count {
            published = published.filter { reads[$0.key] != nil }
            publishedFingerprints = publishedFingerprints.filter { reads[$0.key] != nil }
        }
        if publishedFingerprints != runtime.publishedFingerprints || !runtime.everPublished {
            registry.set(MetricCatalog.certFileLastChange, [source], to: now.timeIntervalSince1970)
            runtime.publishedFingerprints = publishedFingerprints
            runtime.everPublished = true
        }
        if published != runtime.published {
            contributor.replace(source: source, files: published)
            runtime.published = published
        }
        let newlyReported = reported.filter { runtime.reported[$0.key] != $0.value }
        if !newlyReported.isEmpty {
            // Log only changes, and at most 20 paths of them: a glob may match thousands of files.
            let sample = newlyReported.sorted { $0.key < $1.key }.prefix(20)
            logger.warning(
                "certificate files have problems",
                metadata: [
                    "source": "\(source)", "files": "\(reported.count)", "new": "\(newlyReported.count)",
                    "problems": "\(sample.map { "\($0.key)=\($0.value.rawValue)" }.joined(separator: ","))",
                ])
        }
        runtime.reported = reported.merging(stillReported) { current, _ in current }
        updateStatistics(source) { s in s.holds += holds }
        recordLoad(source: source, problems: reported, started: started, now: now)
        context.board.delivered(source, what: "certificate files", now: now)
        let settle = retryAt.map { $0.timeIntervalSince(Self.monotonicNow()) }
        return [settle, recheck].compactMap { $0 }.min()
    }

    // MARK: Shared steps

    private func recordLoad(
        source: String, problems: [String: CertFileLoadReason], started: ContinuousClock.Instant, now: Date
    ) {
        registry.observe(MetricCatalog.certFileLoadDuration, [source], (ContinuousClock.now - started).seconds)
        registry.increment(MetricCatalog.certFileLoads, [source, problems.isEmpty ? "success" : "error"])
        var counts: [CertFileLoadReason: Int] = [:]
        for reason in problems.values { counts[reason, default: 0] += 1 }
        for (reason, count) in counts {
            registry.increment(MetricCatalog.certFileLoadErrors, [source, reason.rawValue], by: Double(count))
        }
        if problems.isEmpty {
            registry.set(MetricCatalog.certFileLastLoadSuccess, [source], to: now.timeIntervalSince1970)
        }
        updateStatistics(source) { s in
            s.evaluations += 1
            s.loads += 1
            s.lastProblems = problems
        }
    }

    /// Returns the directories watched now that were not before.
    @discardableResult
    private func updateWatches(
        index: Int, source: String, _ watches: [String: WatchFilter], watcher: InotifyWatcher?
    ) -> [String] {
        guard let watcher else { return [] }
        let update = watcher.setWatches(source: index, watches)
        let failed = Set(update.failed)
        let watched = watches.keys.filter { !failed.contains($0) }.sorted()
        updateStatistics(source) { s in s.watchedDirectories = watched }
        return update.added
    }

    private func updateStatistics(_ source: String, _ update: (inout CertFilesSourceStatistics) -> Void) {
        shared.statistics.withLock { update(&$0[source, default: CertFilesSourceStatistics()]) }
    }

    /// Stats `path`; reuses the cached payload when the stamp is unchanged and trusted, otherwise
    /// reads it (refusing non-regular and oversized files before reading) and transforms it only
    /// if its content hash is new.
    static func readCached<Payload: Sendable>(
        _ path: String, detector: inout ChangeDetector<Payload>, maxSize: Int, transform: ([UInt8]) -> Payload
    ) -> Result<(Payload, ContentDigest), CertFileLoadReason> {
        let status: CertFileReader.Status
        switch CertFileReader.status(path) {
        case .failure(let reason):
            detector.forget(path)
            return .failure(reason)
        case .success(let value):
            status = value
        }
        guard status.isRegularFile else {
            detector.forget(path)
            return .failure(.notRegularFile)
        }
        guard status.stamp.size <= Int64(maxSize) else {
            detector.forget(path)
            return .failure(.fileTooLarge)
        }
        if let payload = detector.unchanged(path, stamp: status.stamp), let digest = detector.digest(path) {
            return .success((payload, digest))
        }
        // Wall-clock time on purpose: it is compared with file mtimes, not used as "now" of a check.
        let readAt = Date()
        switch CertFileReader.read(path, maxSize: maxSize) {
        case .failure(let reason):
            detector.forget(path)
            return .failure(reason)
        case .success(let (stamp, bytes)):
            let digest = ContentDigest(of: bytes)
            let payload = detector.sameContent(path, digest: digest) ?? transform(bytes)
            detector.record(path, stamp: stamp, digest: digest, payload: payload, readAt: readAt)
            return .success((payload, digest))
        }
    }

    /// Runs blocking file-system work on a Dispatch thread, never on the Swift concurrency pool.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: work()) }
        }
    }

    private static let epoch = ContinuousClock.now

    /// Settle timing runs on the monotonic clock, independent of the injected `clock` (which tests
    /// may freeze) and of wall-clock jumps.
    static func monotonicNow() -> Date {
        Date(timeIntervalSinceReferenceDate: (ContinuousClock.now - epoch).seconds)
    }

    static func describe(_ problems: [String: CertFileLoadReason]) -> String {
        problems.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }.joined(separator: ",")
    }
}

/// One file's state as a settle fingerprint: its content hash or why it could not be read.
enum FileFingerprint: Hashable, Sendable {
    case content(ContentDigest)
    case failed(CertFileLoadReason)
}

struct DirectoryRuntime: Sendable {
    var detector = ChangeDetector<[UInt8]>()
    var gate: SettleGate<[FileFingerprint]>
    var evaluated: (fingerprint: [FileFingerprint], evaluation: SPIFFEHelperEvaluation)?
    var published: [FileFingerprint]?
    var previousSPIFFEID: String?
}

struct GlobRuntime: Sendable {
    var patterns: [GlobPattern]
    var detector = ChangeDetector<Result<CertificateFileSummary, CertFileLoadReason>>()
    var gates: [String: SettleGate<FileFingerprint>] = [:]
    var published: [String: CertificateFileSummary] = [:]
    var publishedFingerprints: [String: FileFingerprint] = [:]
    var everPublished = false
    var reported: [String: CertFileLoadReason] = [:]
}

struct SourceRuntime: Sendable {
    var directory: DirectoryRuntime
    var glob: GlobRuntime

    init(_ configuration: CertFilesSourceConfiguration) {
        directory = DirectoryRuntime(
            gate: SettleGate(settleDelay: configuration.settleDelay.seconds, maxSettle: configuration.maxSettle.seconds))
        var patterns: [GlobPattern] = []
        if case .glob(let texts) = configuration.kind {
            // Validated with the configuration; an invalid pattern would simply match nothing.
            patterns = texts.compactMap { try? GlobPattern($0) }
        }
        glob = GlobRuntime(patterns: patterns)
    }
}

extension PathNames {
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
