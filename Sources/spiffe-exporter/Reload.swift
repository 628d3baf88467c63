import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore
import ServiceLifecycle
import UnixSignals

/// Re-reads the config file on request; a bad file leaves the running configuration untouched.
/// An actor so SIGHUP and POST /-/reload never apply two configurations at once.
actor ConfigReloader {
    let serve: Serve
    let raw: RawArguments
    let environment: [String: String]
    var current: ResolvedSettings
    let context: CollectorContext
    var store: IdentityStore { context.store }
    nonisolated var registry: MetricsRegistry { context.registry }
    let supervisor: CollectorSupervisor
    let logger: Logger

    init(
        serve: Serve, raw: RawArguments, environment: [String: String], current: ResolvedSettings, context: CollectorContext,
        supervisor: CollectorSupervisor, logger: Logger
    ) {
        self.serve = serve
        self.raw = raw
        self.environment = environment
        self.current = current
        self.context = context
        self.supervisor = supervisor
        self.logger = logger
    }

    nonisolated func recordLoad(success: Bool) {
        registry.set(MetricCatalog.configLastReloadSuccessful, [], to: success ? 1 : 0)
        if success {
            registry.set(MetricCatalog.configLastReloadSuccess, [], to: Date().timeIntervalSince1970)
        }
    }

    /// Returns nil on success, else every problem found.
    func reload() async -> String? {
        guard let path = serve.configFile else { return "no --config.file to reload" }
        do {
            let file = try ConfigFileParser.load(path: path)
            let next = try ResolvedSettings.resolve(serve: serve, file: file, raw: raw, environment: environment)
            try next.validate()
            if next.collectorFingerprint != current.collectorFingerprint {
                await supervisor.apply(try next.plan(context: context))
                logger.info("configuration reloaded; collectors restarted", metadata: ["file": "\(path)"])
            } else {
                logger.info("configuration reloaded; collectors unchanged", metadata: ["file": "\(path)"])
            }
            if next.options.listenAddress != current.options.listenAddress
                || next.options.telemetryPath != current.options.telemetryPath
                || next.options.webConfigFile != current.options.webConfigFile
                || next.options.logLevel != current.options.logLevel || next.options.logFormat != current.options.logFormat
            {
                logger.warning("web and log settings changed in the file take effect after a restart")
            }
            current = next
            recordLoad(success: true)
            store.events.record(ExporterEvent(time: Date(), source: "-", kind: "config_reload", message: "configuration reloaded"))
            return nil
        } catch {
            recordLoad(success: false)
            let text = "\(error)"
            logger.error("configuration reload failed; keeping the running configuration", metadata: ["problems": "\(text)"])
            store.events.record(ExporterEvent(time: Date(), source: "-", kind: "config_reload_failed", message: text))
            return text
        }
    }
}

/// Reloads the configuration on SIGHUP.
struct SIGHUPReloadService: Service {
    let reloader: ConfigReloader
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                _ = await reloader.reload()
            }
        }
    }
}

/// `--strict`: fails the start when a configured source has not synced within its timeout, keeps
/// failing, or (for sources that deliver SVIDs) holds no SVID or an invalid one.
struct StrictStartupCheck: Service {
    struct Failure: Error, CustomStringConvertible {
        var problems: [String]
        var description: String { "strict start failed: " + problems.joined(separator: "; ") }
    }

    let store: IdentityStore
    let board: SourceBoard
    /// Sources that must sync and hold only valid SVIDs: Workload API sources, spiffe-helper
    /// directories, selector subscriptions of the Delegated Identity API.
    let svidSources: [String]
    /// Sources that must sync only: certificate globs (not SVIDs), process-name subscriptions
    /// (the process may legitimately not run yet).
    let otherSources: [String]
    let timeout: Double
    let logger: Logger

    init(store: IdentityStore, board: SourceBoard, svidSources: [String], otherSources: [String] = [], timeout: Double, logger: Logger) {
        self.store = store
        self.board = board
        self.svidSources = svidSources
        self.otherSources = otherSources
        self.timeout = timeout
        self.logger = logger
    }

    init(settings: ResolvedSettings, store: IdentityStore, board: SourceBoard, logger: Logger) throws {
        var svidSources = settings.workloadAPI.map(\.source)
        var otherSources: [String] = []
        var timeout = settings.workloadAPI.map { Serve.seconds($0.firstResponseTimeout) }.max() ?? 0
        for source in try settings.certFiles.sourceConfigurations() {
            switch source.kind {
            case .spiffeHelperDirectory: svidSources.append(source.name)
            case .glob: otherSources.append(source.name)
            }
        }
        if let delegated = try settings.delegated.delegatedConfiguration() {
            for subscription in delegated.delegated.subscriptions {
                switch subscription.target {
                case .selectors: svidSources.append(subscription.name)
                case .processName: otherSources.append(subscription.name)
                }
            }
            timeout = max(timeout, Serve.seconds(delegated.firstResponseTimeout))
        }
        // Files settle within a few seconds; streams get their first-response deadline.
        self.init(
            store: store, board: board, svidSources: svidSources, otherSources: otherSources, timeout: max(timeout, 5),
            logger: logger)
    }

    func run() async throws {
        let sources = svidSources + otherSources
        let deadline = ContinuousClock.now + .milliseconds(Int((timeout + 2) * 1000))
        while ContinuousClock.now < deadline, sources.contains(where: { board.health($0)?.synced != true }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        var problems: [String] = []
        let snapshots = await store.snapshot(now: Date())
        for source in sources {
            let health = board.health(source)
            if health?.synced != true {
                problems.append("\(source): not synced within \(timeout)s (\(health?.lastFailureReason ?? "no answer"))")
                continue
            }
            guard svidSources.contains(source) else { continue }
            let svids = snapshots.first { $0.source == source }?.svids ?? []
            if svids.isEmpty {
                problems.append("\(source): no SVID (\(health?.lastFailureReason ?? "empty"))")
            }
            for report in svids where !report.isValid(at: Date()) {
                problems.append("\(source): \(report.spiffeID) invalid: \(report.problems(at: Date()).map(\.rawValue).joined(separator: ","))")
            }
        }
        if !problems.isEmpty {
            logger.critical("--strict: refusing to run", metadata: ["problems": "\(problems.joined(separator: "; "))"])
            throw Failure(problems: problems)
        }
        logger.info("--strict: every source synced with valid SVIDs")
        // Stay up until shutdown so the group does not take a finished check for a stop request.
        try? await gracefulShutdown()
    }
}
