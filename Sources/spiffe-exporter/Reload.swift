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
    let configFile: String?
    let flags: CommandLineSettings
    let environment: [String: String]
    var current: ExporterConfiguration
    let context: CollectorContext
    nonisolated var registry: MetricsRegistry { context.registry }
    let supervisor: CollectorSupervisor
    let probeEndpoint: ProbeEndpoint?
    let logger: Logger

    init(
        configFile: String?, flags: CommandLineSettings, environment: [String: String], current: ExporterConfiguration,
        context: CollectorContext, supervisor: CollectorSupervisor, probeEndpoint: ProbeEndpoint? = nil, logger: Logger
    ) {
        self.probeEndpoint = probeEndpoint
        self.configFile = configFile
        self.flags = flags
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
        guard let path = configFile else { return "no --config.file to reload" }
        do {
            let next = try ExporterConfiguration.load(configFile: path, flags: flags, environment: environment)
            if let problem = Serve.webSecurityProblem(next.web) { throw ConfigurationProblems([problem]) }
            if next.collectors != current.collectors {
                await supervisor.apply(next.collectors.plan(context: context))
                logger.info("configuration reloaded; collectors restarted", metadata: ["file": "\(path)"])
            } else {
                logger.info("configuration reloaded; collectors unchanged", metadata: ["file": "\(path)"])
            }
            if next.probeEndpoint != current.probeEndpoint || next.collectors != current.collectors {
                probeEndpoint?.update(
                    settings: next.probeEndpoint, identities: next.collectors.probeIdentities(context: context))
            }
            if next.identities != current.identities {
                next.identities.apply(to: context.store, now: Date())
                logger.info("expected identities and SPIFFE ID labels applied", metadata: ["file": "\(path)"])
            }
            if next.web != current.web || next.log != current.log {
                logger.warning("web and log settings changed in the file take effect after a restart")
            }
            current = next
            recordLoad(success: true)
            context.board.events.record(
                ExporterEvent(time: Date(), source: "-", kind: "config_reload", message: "configuration reloaded"))
            return nil
        } catch {
            recordLoad(success: false)
            let text = "\(error)"
            logger.error("configuration reload failed; keeping the running configuration", metadata: ["problems": "\(text)"])
            context.board.events.record(ExporterEvent(time: Date(), source: "-", kind: "config_reload_failed", message: text))
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
    let timeout: Duration
    let logger: Logger

    init(collectors: ExporterConfiguration.Collectors, store: IdentityStore, board: SourceBoard, logger: Logger) {
        var svidSources = collectors.workloadAPI.map(\.name)
        var otherSources: [String] = []
        var timeout = collectors.workloadAPI.map(\.timeout).max() ?? .zero
        for source in collectors.certFiles {
            switch source.kind {
            case .spiffeHelperDirectory: svidSources.append(source.name)
            case .glob, .bundleFile: otherSources.append(source.name)
            }
        }
        if let delegated = collectors.delegated {
            for subscription in delegated.subscriptions.subscriptions {
                switch subscription.target {
                case .selectors: svidSources.append(subscription.name)
                case .processName: otherSources.append(subscription.name)
                }
            }
            timeout = max(timeout, delegated.timeout)
        }
        self.store = store
        self.board = board
        self.svidSources = svidSources
        self.otherSources = otherSources
        // Files settle within a few seconds; streams get their first-response deadline.
        self.timeout = max(timeout, .seconds(5))
        self.logger = logger
    }

    func run() async throws {
        let sources = svidSources + otherSources
        let deadline = ContinuousClock.now + timeout + .seconds(2)
        while ContinuousClock.now < deadline, sources.contains(where: { board.health($0)?.synced != true }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        var problems: [String] = []
        let snapshots = await store.snapshot(now: Date())
        for source in sources {
            let health = board.health(source)
            if health?.synced != true {
                let failure = health?.lastFailureReason ?? "no answer"
                problems.append("\(source): not synced within \(timeout.seconds)s (\(failure))")
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
