import ArgumentParser
import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore

/// `spiffe-exporter check`: one-shot diagnosis for on-call, cron, CI and Kubernetes probes.
/// Connects, fetches, validates, prints, exits 0 OK / 1 warning / 2 critical / 3 cannot check.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch and validate identities once, print them, exit 0 OK / 1 warning / 2 critical / 3 cannot check.",
        discussion: """
            Thresholds apply to what is left of an identity's life. An explicit --warn or --crit is \
            absolute, as in every monitoring plugin: --warn 2h warns about an SVID with 59 minutes \
            left. Without them the defaults (24h, 1h) are capped at the part of the lifetime after the \
            renewal deadline (lifetime × (1 − --renewal.deadline-fraction)), so a healthy short-lived \
            SVID that SPIRE has not had to rotate yet is never reported.
            """)

    @Option(name: .long, help: "Workload API endpoint (default: $SPIFFE_ENDPOINT_SOCKET, else \(WorkloadEndpointAddress.defaultAddress)).")
    var address: String?

    @Flag(name: .customLong("no-workload-api"), help: "Do not check the Workload API (only --dir).")
    var skipWorkloadAPI = false

    @Option(name: .long, help: "A spiffe-helper directory (svid.pem, svid_key.pem, svid_bundle.pem) to check, as PATH or NAME=PATH (repeatable).")
    var dir: [String] = []

    @Option(name: .customLong("jwt-audience"), help: "Also fetch and validate a JWT-SVID for this audience set (repeatable; comma-separated).")
    var jwtAudience: [String] = []

    @Option(
        name: .customLong("probe.target"),
        help: "Also connect to this TLS server and compare the SVID it presents with the newest one fetched, NAME=host:port[,spiffe_id=...][,sni=...][,starttls=postgres|mysql|smtp][,client_auth=required] (repeatable).")
    var probeTargets: [String] = []

    @Option(
        name: .customLong("expect.identity"),
        help: "An identity that must be there, [SOURCE=]SPIFFE_ID[,kind=x509|jwt][,audience=A[+B]][,min_count=N] with '*'/'**' globs (repeatable); missing is CRITICAL.")
    var expectedIdentities: [String] = []

    @OptionGroup(title: "Delegated Identity API (node-wide view)") var delegated: DelegatedOptions

    @OptionGroup(title: "SPIRE agent (its own SVID and server sync)") var agent: AgentOptions

    @OptionGroup(title: "Envoy (admin /certs)") var envoy: EnvoyOptions
    @OptionGroup(title: "Federation bundle endpoints (fetched once, compared with the other copies)")
    var federation: FederationOptions

    @Option(name: .long, help: "Output format: table or json.")
    var output: OutputFormat = .table

    @Option(name: .long, help: "Warning threshold on time left, absolute when given (default: 24h, capped at the renewal deadline).")
    var warn: String?

    @Option(name: .long, help: "Critical threshold on time left, absolute when given (default: 1h, capped at the renewal deadline).")
    var crit: String?

    @Option(name: .long, help: "How long to wait for the Workload API.")
    var timeout = "10s"

    @Option(name: .customLong("renewal.deadline-fraction"), help: "Renewal deadline as a fraction of the lifetime.")
    var deadlineFraction = 0.75

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

    func run() async throws {
        let thresholds: CheckThresholds
        let timeoutSeconds: Double
        do {
            let defaults = CheckThresholds()
            thresholds = CheckThresholds(
                warning: try warn.map(DurationText.seconds) ?? defaults.warning,
                critical: try crit.map(DurationText.seconds) ?? defaults.critical,
                deadlineFraction: deadlineFraction, warningIsAbsolute: warn != nil, criticalIsAbsolute: crit != nil)
            timeoutSeconds = try DurationText.seconds(timeout)
        } catch {
            throw ValidationError("\(error)")
        }
        let audiences = jwtAudience.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            .filter { !$0.isEmpty }

        let targets: [ProbeTarget]
        do {
            targets = try ProbeTarget.parseAll(probeTargets)
        } catch {
            throw ValidationError("--probe.target: \(error)")
        }
        let expectations = try checkedExpectations()
        let store = IdentityStore()
        var identities: [CheckIdentity] = []
        var failures: [CheckSourceFailure] = []
        if !skipWorkloadAPI {
            let text = address ?? ProcessInfo.processInfo.environment[WorkloadEndpointAddress.environmentVariable]
                ?? WorkloadEndpointAddress.defaultAddress
            do {
                let parsed = try WorkloadEndpointAddress(explaining: text)
                let result = await WorkloadAPICheck.run(
                    address: parsed, timeout: timeoutSeconds, audiences: audiences, thresholds: thresholds, store: store)
                identities += result.identities
                failures += result.failures
            } catch {
                failures.append(
                    CheckSourceFailure(
                        source: "workload_api", target: text, reason: "invalid_address", detail: "\(error.error)",
                        hint: error.suggestion.prefix(1).uppercased() + error.suggestion.dropFirst() + "."))
            }
        }
        for entry in dir {
            let (name, path) = Self.namedDirectory(entry)
            let result = await DirectoryCheck.run(name: name, path: path, thresholds: thresholds, store: store)
            identities += result.identities
            failures += result.failures
        }
        let collectors = try collectorConfiguration()
        if let agent = collectors.agent {
            let result = await AgentCheck.run(configuration: agent.collectorConfiguration, thresholds: thresholds, store: store)
            identities += result.identities
            failures += result.failures
        }
        if let configuration = collectors.delegated {
            for result in await DelegatedIdentityCollector.check(configuration: configuration.collectorConfiguration) {
                let now = Date()
                for report in result.reports {
                    identities.append(CheckEvaluator.x509(report, source: result.source, bundle: nil, thresholds: thresholds, now: now))
                }
                if let failure = result.failure {
                    failures.append(
                        CheckSourceFailure(
                            source: result.source, target: result.target, reason: failure.reason.rawValue,
                            detail: "\(failure.rpc): \(failure.code) \(failure.detail)",
                            hint: failure.hint ?? CheckEvaluator.hint(for: failure.reason, target: result.target)))
                }
            }
        }
        if !collectors.envoy.admins.isEmpty {
            let envoy = collectors.envoy
            let result = await EnvoyCheck.run(
                envoy.admins.map {
                    EnvoyCollectorConfiguration(source: $0.name, endpoint: $0.endpoint, interval: envoy.interval, timeout: envoy.timeout)
                }, store: store, thresholds: thresholds)
            identities += result.identities
            failures += result.failures
        }
        identities += await ProbeCheck.run(targets: targets, store: store, timeout: timeoutSeconds, thresholds: thresholds)
        // Last: an https_spiffe endpoint is verified against the bundles read above.
        failures += await FederationCheck.run(
            endpoints: collectors.federation.endpoints, timeout: .seconds(timeoutSeconds), store: store)
        identities += await BundleConsistencyCheck.run(store: store, now: Date())
        // Expected identities first, as on /status.
        identities = ExpectedIdentityTracker.check(expectations, rows: identities, failures: failures, now: Date()) + identities
        let report = CheckReport(checkedAt: Date(), identities: identities, failures: failures)
        let text = output == .json ? CheckFormatter.json(report) : CheckFormatter.table(report)
        StandardStreams.out(text)
        throw ExitCode(Int32(report.status.rawValue))
    }

    /// A `--dir` value, `PATH` or `NAME=PATH` (the path names the source when no name is given).
    static func namedDirectory(_ entry: String) -> (name: String, path: String) {
        let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : (entry, entry)
    }

    /// `--expect.identity`, each naming a source this check looks at, if any.
    func checkedExpectations() throws -> [ExpectedIdentity] {
        var sources = Set(dir.map { Self.namedDirectory($0).name })
        if !skipWorkloadAPI { sources.insert(ExporterConfiguration.defaultWorkloadAPISourceName) }
        let collectors = try collectorConfiguration()
        for subscription in collectors.delegated?.subscriptions.subscriptions ?? [] { sources.insert(subscription.name) }
        if let agent = collectors.agent { sources.insert(agent.name) }
        return try expectedIdentities.map { text in
            let expectation: ExpectedIdentity
            do { expectation = try ExpectedIdentity(parsing: text) } catch {
                throw ValidationError("--expect.identity: \(error)")
            }
            if let source = expectation.source, !sources.contains(source) {
                throw ValidationError("--expect.identity: source \"\(source)\" is not checked (sources: \(sources.sorted().joined(separator: ", ")))")
            }
            return expectation
        }
    }

    /// The `--collector.delegated.*`, `--collector.agent.*`, `--collector.envoy.*` and
    /// `--collector.federation.*` flags, checked as `serve` checks them.
    func collectorConfiguration() throws -> ExporterConfiguration.Collectors {
        let flags = CommandLineSettings(
            workloadAPI: .init(enabled: false), delegated: delegated.settings,
            agentHealth: delegated.agentHealthSettings, agent: agent.settings, envoy: envoy.settings,
            federation: federation.settings)
        do {
            return try ExporterConfiguration.resolve(file: nil, flags: flags, environment: [:]).collectors
        } catch {
            throw ValidationError(error.description)
        }
    }
}
