import Foundation
import GRPCCore
import Logging
import SPIFFEAgentAPIs
import SPIFFEExporterCore
import ServiceLifecycle

/// Settings of the agent collector: at least one of the admin socket and the data file.
public struct AgentCollectorConfiguration: Sendable, Equatable {
    /// The `source` label.
    public var source: String
    /// The agent's admin socket (`admin_socket_path`), which serves the Debug API.
    public var adminAddress: WorkloadEndpointAddress?
    /// `<data_dir>/agent-data.json`, a pre-1.9 `agent_svid.der`, or the data directory itself
    /// (then only those two names are looked for in it).
    public var dataFile: String?
    public var interval: Duration
    /// Deadline of one GetInfo.
    public var timeout: Duration

    public init(
        source: String, adminAddress: WorkloadEndpointAddress?, dataFile: String?, interval: Duration,
        timeout: Duration
    ) {
        self.source = source
        self.adminAddress = adminAddress
        self.dataFile = dataFile
        self.interval = interval
        self.timeout = timeout
    }
}

/// What one read of the agent gave: each configured channel's report or failure.
public struct AgentReading: Sendable, Hashable {
    public var debugAPI: Result<AgentReport, AgentDataFile.Failure>?
    public var dataFile: Result<AgentReport, AgentDataFile.Failure>?

    public init(debugAPI: Result<AgentReport, AgentDataFile.Failure>?, dataFile: Result<AgentReport, AgentDataFile.Failure>?) {
        self.debugAPI = debugAPI
        self.dataFile = dataFile
    }

    /// Every configured channel answered.
    public var isUp: Bool { failures.isEmpty && (debugAPI != nil || dataFile != nil) }

    public var failures: [(channel: AgentChannel, failure: AgentDataFile.Failure)] {
        var failures: [(AgentChannel, AgentDataFile.Failure)] = []
        if case .failure(let failure)? = debugAPI { failures.append((.debugAPI, failure)) }
        if case .failure(let failure)? = dataFile { failures.append((.dataFile, failure)) }
        return failures
    }

    /// The live GetInfo view, completed by the data file; the data file alone without GetInfo.
    public func report(previousDataFile: AgentReport?) -> AgentReport? {
        let file = (try? dataFile?.get()) ?? previousDataFile
        if let live = try? debugAPI?.get() { return live.merged(withDataFile: file) }
        return try? dataFile?.get()
    }
}

/// Watches the SPIRE agent itself, which SPIRE exports no metric for: its own SVID (an agent
/// whose SVID expires loses every workload identity on the node), its last sync with the server,
/// its caches. Polls `spire.agent.debug.v1.Debug/GetInfo` on the admin socket and/or reads the
/// agent's data file every interval. The agent SVID goes to the store (renewal tracking, outage
/// budget); `spiffe_agent_up` and `spiffe_agent_failures_total` to the registry.
public struct AgentCollector<C: Clock>: Service where C.Duration == Duration {
    let configuration: AgentCollectorConfiguration
    let context: CollectorContext
    let loop: WatchLoop<C>
    private let state = SharedValue(State())

    private struct State: Sendable {
        /// The last failure of each channel, to log a repeated one quietly.
        var lastFailure: [AgentChannel: AgentDataFile.Failure] = [:]
        /// The last good data file, to complete GetInfo while the file cannot be read.
        var dataFile: AgentReport?
        /// When the exporter first saw the current agent SVID: its NotBefore when no channel
        /// carries it (after an observed rotation, within one interval of the truth).
        var firstSeen: (fingerprint: String, at: Date)?
    }

    public init(configuration: AgentCollectorConfiguration, context: CollectorContext, clock: C) {
        self.configuration = configuration
        self.context = context
        let address = configuration.adminAddress ?? .unix(path: "/")
        // A failed read is retried at the interval, like a good one: the gauges are the signal.
        loop = WatchLoop(
            clock: clock, backoff: Backoff(initial: configuration.interval, multiplier: 1, cap: configuration.interval),
            firstResponseTimeout: nil, classifier: FailureClassifier(address: address, permissionDenied: .permissionDenied))
        let source = configuration.source
        context.store.register(source: source)
        context.board.register(source, kind: .agent, now: context.now())
        context.registry.preZero(MetricCatalog.agentFailures, AgentFailureReason.allCases.map { [source, $0.rawValue] })
        context.registry.set(MetricCatalog.agentUp, [source], to: 0)
    }

    public func run() async throws {
        context.logger.info(
            "starting agent collector",
            metadata: [
                "source": "\(configuration.source)",
                "admin_address": "\(configuration.adminAddress.map { "\($0)" } ?? "-")",
                "data_file": "\(configuration.dataFile ?? "-")",
            ])
        await cancelWhenGracefulShutdown {
            await loop.poll(interval: configuration.interval) {
                record(await read(), now: context.now())
                return nil
            } ended: { _, _ in }
        }
    }

    /// One read of every configured channel.
    public func read() async -> AgentReading {
        var debugAPI: Result<AgentReport, AgentDataFile.Failure>?
        if let address = configuration.adminAddress { debugAPI = await getInfo(address) }
        var dataFile: Result<AgentReport, AgentDataFile.Failure>?
        if let path = configuration.dataFile {
            let now = context.now()
            dataFile = await CertFilesCollector.offload { AgentDataFileReader.read(path, now: now) }
        }
        return AgentReading(debugAPI: debugAPI, dataFile: dataFile)
    }

    func getInfo(_ address: WorkloadEndpointAddress) async -> Result<AgentReport, AgentDataFile.Failure> {
        do {
            let client = Spire_Agent_Debug_V1_Debug.Client(wrapping: try context.connections.client(for: address))
            let response = try await client.getInfo(
                Spire_Agent_Debug_V1_GetInfoRequest(), options: AgentConnections.callOptions(timeout: configuration.timeout))
            return AgentDebugInfo.report(response, now: context.now())
        } catch {
            let outcome = loop.classifier.classify(error, messages: 0, firstResponseTimeout: configuration.timeout)
            if outcome == .shutdown { return .failure(AgentDataFile.Failure(.other, "shutdown")) }
            let reason = outcome.reason.map { AgentFailureReason($0, code: outcome.code) } ?? .other
            return .failure(AgentDataFile.Failure(reason, "\(outcome.code): \(outcome.detail)"))
        }
    }

    /// Applies one reading: metrics, store, board, logs.
    public func record(_ reading: AgentReading, now: Date) {
        let source = configuration.source
        let registry = context.registry
        for (_, failure) in reading.failures {
            registry.increment(MetricCatalog.agentFailures, [source, failure.reason.rawValue])
        }
        registry.set(MetricCatalog.agentUp, [source], to: reading.isUp ? 1 : 0)
        let previousDataFile = state.update { s -> AgentReport? in
            if let file = try? reading.dataFile?.get() { s.dataFile = file }
            return s.dataFile
        }
        if let report = reading.report(previousDataFile: previousDataFile) {
            let fingerprint = report.generationFingerprint
            let issuedAt = state.update { s -> Date in
                if let seen = s.firstSeen, seen.fingerprint == fingerprint { return seen.at }
                s.firstSeen = (fingerprint, now)
                return now
            }
            context.store.replaceAgent(source: source, report: report, issuedAt: issuedAt, now: now)
        }
        if reading.isUp {
            context.board.delivered(source, what: "agent", now: now)
        } else if let first = reading.failures.first {
            let reason = first.failure.reason
            context.board.failed(
                source, reason: reason.rawValue, hint: reason.hint(channel: first.channel),
                message: "agent \(first.channel.rawValue) read failed: \(reason.rawValue)", down: true, now: now)
            // A report from the other channel still answers for the agent's SVID.
            if reading.report(previousDataFile: nil) != nil { context.board.markSynced(source) }
        }
        log(reading)
    }

    /// Logs each channel's failure once per change of reason, and its recovery.
    private func log(_ reading: AgentReading) {
        let logger = context.logger
        for (channel, result) in [(AgentChannel.debugAPI, reading.debugAPI), (.dataFile, reading.dataFile)] {
            guard let result else { continue }
            let previous = state.update { s -> AgentDataFile.Failure? in
                switch result {
                case .success: return s.lastFailure.removeValue(forKey: channel)
                case .failure(let failure): return s.lastFailure.updateValue(failure, forKey: channel)
                }
            }
            switch result {
            case .success:
                if let previous {
                    logger.info(
                        "agent readable again",
                        metadata: [
                            "source": "\(configuration.source)", "channel": "\(channel.rawValue)",
                            "after": "\(previous.reason.rawValue)",
                        ])
                }
            case .failure(let failure):
                guard previous?.reason != failure.reason else { continue }
                logger.warning(
                    "agent read failed",
                    metadata: [
                        "source": "\(configuration.source)", "channel": "\(channel.rawValue)",
                        "reason": "\(failure.reason.rawValue)", "detail": "\(failure.detail)",
                        "hint": "\(failure.reason.hint(channel: channel))",
                    ])
            }
        }
    }
}

/// The agent data file from disk, defensively (``CertFileReader``: size checked before reading,
/// no FIFO or device opened). Blocking: run it off the concurrency pool.
public enum AgentDataFileReader {
    /// Reads the data file, or in a data directory the first of ``AgentDataFile/fileNames`` that
    /// exists; no other file of the directory is opened (the agent's keys live there).
    public static func read(_ path: String, now: Date) -> Result<AgentReport, AgentDataFile.Failure> {
        var file = path
        if case .success(let status) = CertFileReader.status(path), status.isDirectory {
            let candidates = AgentDataFile.fileNames.map { (path as NSString).appendingPathComponent($0) }
            guard let found = candidates.first(where: { (try? CertFileReader.status($0).get()) != nil }) else {
                return .failure(
                    AgentDataFile.Failure(
                        .dataFileNotFound, "neither \(AgentDataFile.fileNames.joined(separator: " nor ")) in \(path)"))
            }
            file = found
        }
        switch CertFileReader.read(file, maxSize: AgentDataFile.maximumSize) {
        case .success(let read):
            return AgentDataFile.parse(read.bytes, now: now).mapError { failure in
                AgentDataFile.Failure(failure.reason, "\(file): \(failure.detail)")
            }
        case .failure(let reason):
            let mapped: AgentFailureReason
            switch reason {
            case .notFound: mapped = .dataFileNotFound
            case .permissionDenied: mapped = .permissionDenied
            case .fileTooLarge: mapped = .dataFileTooLarge
            default: mapped = .dataFileUnreadable
            }
            return .failure(AgentDataFile.Failure(mapped, "\(file): \(reason.rawValue)"))
        }
    }
}

extension AgentCollector where C == ContinuousClock {
    public init(configuration: AgentCollectorConfiguration, context: CollectorContext) {
        self.init(configuration: configuration, context: context, clock: ContinuousClock())
    }
}

/// GetInfo's answer as an ``AgentReport``, checked: an empty chain, an SVID without a SPIFFE ID
/// or expiry is a failure, not a report.
public enum AgentDebugInfo {
    public static func report(_ response: Spire_Agent_Debug_V1_GetInfoResponse, now: Date) -> Result<
        AgentReport, AgentDataFile.Failure
    > {
        guard !response.svidChain.isEmpty else {
            return .failure(AgentDataFile.Failure(.emptyChain, "GetInfo returned no agent SVID"))
        }
        var chain: [AgentChainCertificate] = []
        for (index, cert) in response.svidChain.enumerated() {
            guard cert.expiresAt > 0 else {
                return .failure(AgentDataFile.Failure(.malformedResponse, "svid_chain[\(index)] has no expiry"))
            }
            var id = ""
            if cert.hasID, !cert.id.trustDomain.isEmpty {
                id = "spiffe://\(cert.id.trustDomain)\(cert.id.path)"
                guard cert.id.path.isEmpty || cert.id.path.hasPrefix("/"), (try? SPIFFEID(parsing: id)) != nil else {
                    return .failure(AgentDataFile.Failure(.malformedResponse, "svid_chain[\(index)] has an invalid SPIFFE ID"))
                }
            } else if index == 0 {
                return .failure(AgentDataFile.Failure(.malformedResponse, "the agent SVID has no SPIFFE ID"))
            }
            chain.append(
                AgentChainCertificate(
                    spiffeID: id, notBefore: nil, notAfter: Date(timeIntervalSince1970: TimeInterval(cert.expiresAt))))
        }
        return .success(
            AgentReport(
                channel: .debugAPI, chain: chain,
                lastSyncSuccess: Date(timeIntervalSince1970: TimeInterval(max(0, response.lastSyncSuccess))),
                uptime: TimeInterval(max(0, response.uptime)),
                cachedSVIDs: AgentCachedSVIDs(
                    x509: Int(max(0, response.cachedX509SvidsCount)), jwt: Int(max(0, response.cachedJwtSvidsCount)),
                    svidstore: Int(max(0, response.cachedSvidstoreX509SvidsCount))),
                observedAt: now))
    }
}
