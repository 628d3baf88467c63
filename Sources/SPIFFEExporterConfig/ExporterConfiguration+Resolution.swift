import SPIFFEExporterCore

extension ExporterConfiguration {
    /// Merges the inputs, setting by setting: a flag wins over the environment, the environment
    /// over the file, the file over the default (docs/configuration.md). Repeatable flags add to
    /// what the file lists, file entries first. Throws every problem found, each with its origin.
    public static func resolve(
        file: ConfigFile?, flags: CommandLineSettings, environment: [String: String]
    ) throws(ConfigurationProblems) -> ExporterConfiguration {
        var resolver = Resolver(file: file ?? ConfigFile(), flags: flags, environment: environment)
        let configuration = resolver.configuration()
        guard resolver.problems.isEmpty else { throw ConfigurationProblems(resolver.problems) }
        return configuration
    }
}

/// One resolution: the inputs, and the problems found so far. A bad value is reported and the
/// next input in precedence is used instead, so one mistake does not hide the others.
struct Resolver {
    let file: ConfigFile
    let flags: CommandLineSettings
    let environment: [String: String]
    var problems: [ConfigurationProblem] = []

    mutating func configuration() -> ExporterConfiguration {
        var configuration = ExporterConfiguration()
        configuration.web = web()
        configuration.log = log()
        configuration.renewal = renewal()
        configuration.strict = flags.strict
        let workloadAPI = workloadAPISources()
        let certFiles = certFiles(workloadAPISources: Set(workloadAPI.map(\.value.name)))
        var collectors = ExporterConfiguration.Collectors()
        collectors.workloadAPI = workloadAPI.map(\.value)
        collectors.certFiles = certFiles
        collectors.delegated = delegated(otherSources: Set(collectors.workloadAPI.map(\.name) + certFiles.map(\.name)))
        collectors.agentHealth = agentHealth()
        collectors.agent = agent(
            otherSources: Set(
                collectors.workloadAPI.map(\.name) + certFiles.map(\.name)
                    + (collectors.delegated?.subscriptions.subscriptions.map(\.name) ?? [])))
        collectors.probe = probe(clientSource: collectors.workloadAPI.first?.name)
        collectors.envoy = envoy(
            otherSources: Set(
                collectors.workloadAPI.map(\.name) + certFiles.map(\.name)
                    + (collectors.delegated?.subscriptions.subscriptions.map(\.name) ?? [])
                    + (collectors.agent.map { [$0.name] } ?? [])))
        collectors.federation = federation(
            otherSources: Set(
                collectors.workloadAPI.map(\.name) + certFiles.map(\.name)
                    + (collectors.delegated?.subscriptions.subscriptions.map(\.name) ?? [])
                    + (collectors.agent.map { [$0.name] } ?? []) + collectors.envoy.admins.map(\.name)))
        configuration.collectors = collectors
        configuration.identities = identities(sources: collectors.sources)
        configuration.probeEndpoint = probeEndpoint()
        return configuration
    }

    // MARK: Reading one value

    mutating func problem(_ origin: Origin, _ message: String) {
        problems.append(ConfigurationProblem(origin, message))
    }

    /// `text` (given at `origin`) made a value; nil, with the problem recorded, when it is not one.
    mutating func value<Value>(_ text: String?, at origin: Origin, _ parse: (String) throws -> Value) -> Located<Value>?
    {
        guard let text else { return nil }
        do {
            return Located(try parse(text), origin)
        } catch {
            problem(origin, "\(error)")
            return nil
        }
    }

    mutating func flag<Value>(_ name: String, _ text: String?, _ parse: (String) throws -> Value) -> Located<Value>? {
        value(text, at: .flag(name), parse)
    }

    mutating func durationFlag(_ name: String, _ text: String?, atLeast minimum: Duration? = nil) -> Located<Duration>?
    {
        flag(name, text) { text throws(InvalidValue) in
            let duration: Duration
            do { duration = try DurationText.duration(text) } catch { throw InvalidValue("\(error)") }
            if let minimum, duration < minimum { throw InvalidValue(ExporterConfiguration.tooShort(minimum, text)) }
            return duration
        }
    }

    /// A repeatable setting: the file's entries, then the flag's values (the unreadable ones reported).
    mutating func listed<Value>(
        _ fromFile: [Located<Value>], _ name: String, _ texts: [String], _ parse: (String) throws -> Value
    ) -> [Located<Value>] {
        fromFile + texts.compactMap { flag(name, $0, parse) }
    }

    /// An agent address; the message quotes it, as flags and variables are often set by scripts.
    mutating func address(_ text: String?, at origin: Origin) -> Located<WorkloadEndpointAddress>? {
        value(text, at: origin) { text throws(InvalidValue) in
            do { return try WorkloadEndpointAddress(explaining: text) } catch {
                throw InvalidValue("\"\(text)\": \(error)")
            }
        }
    }

    /// A file name setting: flag > file > default.
    func fileName(_ flag: String, _ text: String?, _ fileValue: Located<String>?, default: String?) -> Located<String>?
    {
        text.map { Located($0, .flag(flag)) } ?? fileValue ?? `default`.map { Located($0, .defaultValue(of: flag)) }
    }

    // MARK: Sections

    mutating func web() -> ExporterConfiguration.Web {
        var web = ExporterConfiguration.Web()
        let given = flags.web
        let listen = flag("--web.listen-address", given.listenAddress) { try ListenAddress(parsing: $0) }
        web.listenAddress = (listen ?? file.web.listenAddress)?.value ?? web.listenAddress
        web.telemetryPath = given.telemetryPath ?? file.web.telemetryPath?.value ?? web.telemetryPath
        web.configFile = given.configFile ?? file.web.configFile?.value
        web.maxRequests = max(0, given.maxRequests ?? file.web.maxRequests?.value ?? web.maxRequests)
        return web
    }

    mutating func log() -> ExporterConfiguration.Log {
        var log = ExporterConfiguration.Log()
        let level = flag("--log.level", flags.log.level, ExporterConfiguration.Log.level)
        log.level = (level ?? file.log.level)?.value ?? log.level
        let format = flag("--log.format", flags.log.format, ExporterConfiguration.Log.format)
        log.format = (format ?? file.log.format)?.value ?? log.format
        return log
    }

    mutating func renewal() -> ExporterConfiguration.Renewal {
        var renewal = ExporterConfiguration.Renewal()
        if let fraction = flags.renewal.deadlineFraction {
            do {
                renewal.deadlineFraction = try ExporterConfiguration.Renewal.deadlineFraction(fraction)
            } catch {
                problem(.flag("--renewal.deadline-fraction"), "\(error)")
            }
        } else if let fraction = file.renewal.deadlineFraction {
            renewal.deadlineFraction = fraction.value
        }
        let grace = durationFlag("--renewal.identity-grace-period", flags.renewal.identityGracePeriod)
        renewal.identityGracePeriod = (grace ?? file.renewal.identityGracePeriod)?.value ?? renewal.identityGracePeriod
        return renewal
    }

    /// The file's sources (or one default source), then `--collector.workload-api.source`'s. The
    /// first source is the one the single-valued flags and `SPIFFE_ENDPOINT_SOCKET` speak for; for
    /// the others, the file's own values come first and the flags fill in.
    mutating func workloadAPISources() -> [Located<ExporterConfiguration.WorkloadAPISource>] {
        typealias Source = ExporterConfiguration.WorkloadAPISource
        let given = flags.workloadAPI
        guard given.enabled else { return [] }
        let timeout = durationFlag("--collector.workload-api.timeout", given.timeout)
        let jwtInterval = durationFlag(
            "--collector.workload-api.jwt-interval", given.jwtInterval,
            atLeast: ExporterConfiguration.minimumJWTInterval)
        var audiences: [[String]]?
        if !given.jwtAudiences.isEmpty {
            audiences = given.jwtAudiences.compactMap { value in
                let set = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
                if set.isEmpty {
                    problem(.flag("--collector.workload-api.jwt-audience"), "an audience set must not be empty")
                }
                return set.isEmpty ? nil : set
            }
        }
        let defaultName = ExporterConfiguration.defaultWorkloadAPISourceName
        let fileSources =
            file.workloadAPI
            ?? [
                ConfigFile.WorkloadAPISource(
                    name: Located(defaultName, .defaultValue(of: "--collector.workload-api.address")))
            ]
        var sources: [Located<Source>] = []
        for (index, source) in fileSources.enumerated() {
            let address: Located<WorkloadEndpointAddress>?
            if index == 0, let text = given.address {
                address = self.address(text, at: .flag("--collector.workload-api.address"))
            } else if index == 0, let text = environment[WorkloadEndpointAddress.environmentVariable] {
                address = self.address(text, at: .environment(WorkloadEndpointAddress.environmentVariable))
            } else if let fileAddress = source.address {
                address = fileAddress
            } else if index == 0 {
                address = self.address(
                    WorkloadEndpointAddress.defaultAddress, at: .defaultValue(of: "--collector.workload-api.address"))
            } else {
                problem(source.name.origin, "Workload API source \"\(source.name.value)\" needs an address")
                address = nil
            }
            guard let address else { continue }
            let first = index == 0
            let sourceTimeout = first ? timeout ?? source.timeout : source.timeout ?? timeout
            let sourceInterval = first ? jwtInterval ?? source.jwtInterval : source.jwtInterval ?? jwtInterval
            let built = Source(
                name: source.name.value, address: address.value,
                timeout: sourceTimeout?.value ?? Source.defaultTimeout,
                jwtAudiences: first ? audiences ?? source.jwtAudiences : source.jwtAudiences,
                jwtInterval: sourceInterval?.value ?? Source.defaultJWTInterval)
            sources.append(Located(built, source.name.origin))
        }
        var names = Set(fileSources.map(\.name.value))
        let flag = "--collector.workload-api.source"
        for text in given.extraSources {
            guard let named = try? CertFilesFlags.parseNamedPath(text) else {
                problem(
                    .flag(flag), "expected NAME=ADDRESS with a name of letters, digits, '_', '-', '.', got \"\(text)\"")
                continue
            }
            guard names.insert(named.name).inserted else {
                problem(.flag(flag), "source name \"\(named.name)\" is used twice")
                continue
            }
            guard let address = self.address(named.path, at: .flag(flag)) else { continue }
            let built = Source(
                name: named.name, address: address.value, timeout: timeout?.value ?? Source.defaultTimeout,
                jwtAudiences: audiences ?? [], jwtInterval: jwtInterval?.value ?? Source.defaultJWTInterval)
            sources.append(Located(built, .flag(flag)))
        }
        return sources
    }

    /// The file's directories, bundle files and globs, then the flags'; the shared settings apply to them all.
    mutating func certFiles(workloadAPISources: Set<String>) -> [CertFilesSourceConfiguration] {
        let given = flags.certFiles
        let inFile = file.certFiles
        let refresh = durationFlag(
            "--collector.cert-files.refresh-interval", given.refreshInterval,
            atLeast: CertFilesSourceConfiguration.minimumRefreshInterval)
        let settle = durationFlag("--collector.cert-files.settle-delay", given.settleDelay)
        let maxFileSize = flag("--collector.cert-files.max-file-size", given.maxFileSize) {
            try CertFilesFlags.parseByteSize($0)
        }
        let directories = listed(inFile.directories, "--collector.cert-files.dir", given.directories) {
            text throws(CertFilesConfigurationError) in
            let (name, path) = try CertFilesFlags.parseNamedPath(text)
            return CertFilesEntry.directory(name: name, path: path)
        }
        let globs = listed(inFile.globs, "--collector.cert-files.glob", given.globs) {
            text throws(CertFilesConfigurationError) in
            let (name, pattern) = try CertFilesFlags.parseGlobArgument(text)
            return CertFilesEntry.glob(name: name, pattern: pattern)
        }
        let bundleFiles = listed(inFile.bundleFiles, "--collector.bundle-file", given.bundleFiles) {
            text throws(CertFilesConfigurationError) in
            let (name, trustDomain, path) = try CertFilesFlags.parseBundleFile(text)
            return CertFilesEntry.bundleFile(name: name, trustDomain: trustDomain, path: path)
        }
        let federated = listed(
            inFile.federatedBundleFiles, "--collector.cert-files.federated-bundle-file-name",
            given.federatedBundleFileNames,
            CertFilesFlags.parseFederatedBundle)
        let entries = directories + bundleFiles + globs
        let grouped = CertFilesFlags.configurations(
            entries.map(\.value),
            files: directories.isEmpty ? SPIFFEHelperFileNames() : helperFileNames(federatedBundles: federated),
            refreshInterval: (refresh ?? inFile.refreshInterval)?.value
                ?? CertFilesSourceConfiguration.defaultRefreshInterval,
            maxFileSize: (maxFileSize ?? inFile.maxFileSize)?.value ?? CertFilesSourceConfiguration.defaultMaxFileSize,
            settleDelay: (settle ?? inFile.settleDelay)?.value ?? CertFilesSourceConfiguration.defaultSettleDelay)
        for (entry, error) in grouped.problems { problem(entries[entry].origin, "\(error)") }
        for source in grouped.sources {
            // A source's first entry names it.
            guard let origin = entries.first(where: { $0.value.name == source.name })?.origin else { continue }
            if ExporterConfiguration.reservedCertFilesSourceNames.contains(source.name) {
                problem(origin, "source name \"\(source.name)\" is reserved")
            } else if workloadAPISources.contains(source.name) {
                // Two collectors writing one source would overwrite each other's identities.
                problem(origin, "source name \"\(source.name)\" is already a Workload API source")
            }
        }
        return grouped.sources
    }

    /// The file names in each spiffe-helper directory. Checked once here, where each name's origin
    /// is known, rather than once per directory; on a problem the defaults stand in.
    mutating func helperFileNames(federatedBundles federated: [Located<FederatedBundleFile>]) -> SPIFFEHelperFileNames {
        let given = flags.certFiles
        let inFile = file.certFiles
        let defaults = SPIFFEHelperFileNames()
        let svid = fileName(
            "--collector.cert-files.svid-file-name", given.svidFileName, inFile.svidFileName, default: defaults.svid)
        // An empty key, bundle or JWT bundle name means that file is not written.
        func written(_ name: Located<String>?) -> Located<String>? { name?.value.isEmpty == false ? name : nil }
        let key = written(
            fileName(
                "--collector.cert-files.svid-key-file-name", given.svidKeyFileName, inFile.svidKeyFileName,
                default: defaults.key))
        let bundle = written(
            fileName(
                "--collector.cert-files.svid-bundle-file-name", given.svidBundleFileName, inFile.svidBundleFileName,
                default: defaults.bundle))
        let jwtBundle = written(
            fileName(
                "--collector.cert-files.jwt-bundle-file-name", given.jwtBundleFileName, inFile.jwtBundleFileName,
                default: nil))
        let jwtSVIDs =
            inFile.jwtSVIDFileNames
            + given.jwtSVIDFileNames.map { Located($0, .flag("--collector.cert-files.jwt-svid-file-name")) }
        let names: [Located<String>] =
            [svid, key, bundle].compactMap { $0 } + federated.map { Located($0.value.fileName, $0.origin) } + jwtSVIDs
            + [jwtBundle].compactMap { $0 }
        let before = problems.count
        var seen: Set<String> = []
        for name in names {
            if !SPIFFEHelperFileNames.isValidFileName(name.value) {
                problem(name.origin, "invalid file name \"\(name.value)\" (a name inside the directory)")
            } else if !seen.insert(name.value).inserted {
                problem(name.origin, "file name \"\(name.value)\" is already used for another file")
            }
        }
        guard problems.count == before else { return defaults }
        return SPIFFEHelperFileNames(
            svid: svid?.value ?? defaults.svid, key: key?.value, bundle: bundle?.value,
            federatedBundles: federated.map(\.value), jwtSVIDs: jwtSVIDs.map(\.value), jwtBundle: jwtBundle?.value)
    }

    /// Subscriptions by selectors (file, then flags), then by process (file, then flags). Their
    /// names may not be taken by any other source.
    mutating func delegated(otherSources: Set<String>) -> ExporterConfiguration.Delegated? {
        let given = flags.delegated
        let inFile = file.delegated
        let address = self.address(given.address, at: .flag("--collector.delegated.address")) ?? inFile.address
        let rescan = durationFlag(
            "--collector.delegated.process-rescan-interval", given.processRescanInterval,
            atLeast: DelegatedConfiguration.minimumProcessRescanInterval)
        let timeout = durationFlag("--collector.delegated.timeout", given.timeout)
        let subscriptions =
            listed(
                inFile.subscriptions, "--collector.delegated.subscription", given.subscriptions,
                DelegatedFlags.parseSubscription)
            + listed(inFile.processes, "--collector.delegated.process", given.processes, DelegatedFlags.parseProcess)
        // What was given, read or not, decides whether the collector is wanted.
        let subscriptionsGiven =
            !(inFile.subscriptions.isEmpty && given.subscriptions.isEmpty && inFile.processes.isEmpty
            && given.processes.isEmpty)
        guard given.address != nil || inFile.address != nil || subscriptionsGiven else { return nil }
        guard let address else {
            if given.address == nil, let first = subscriptions.first {
                problem(
                    first.origin, "needs the agent's admin socket: --collector.delegated.address or delegated.address")
            }
            return nil
        }
        guard subscriptionsGiven else {
            problem(address.origin, "\(DelegatedConfigurationError.noSubscription)")
            return nil
        }
        let reserved = ExporterConfiguration.Delegated.reservedSourceNames.union(otherSources)
        var names: Set<String> = []
        for subscription in subscriptions {
            let name = subscription.value.name
            do {
                try subscription.value.validate()
            } catch {
                problem(subscription.origin, "\(error)")
                continue
            }
            if reserved.contains(name) {
                problem(subscription.origin, "\(DelegatedConfigurationError.reservedName(name))")
            } else if !names.insert(name).inserted {
                problem(subscription.origin, "\(DelegatedConfigurationError.duplicateName(name))")
            }
        }
        return ExporterConfiguration.Delegated(
            subscriptions: DelegatedConfiguration(
                address: address.value, subscriptions: subscriptions.map(\.value),
                processRescanInterval: (rescan ?? inFile.processRescanInterval)?.value
                    ?? DelegatedConfiguration.defaultProcessRescanInterval),
            timeout: (timeout ?? inFile.timeout)?.value ?? ExporterConfiguration.Delegated.defaultTimeout)
    }

    mutating func agentHealth() -> ExporterConfiguration.AgentHealth {
        let given = flags.agentHealth
        let inFile = file.agentHealth
        var health = ExporterConfiguration.AgentHealth()
        health.enabled = given.enabled ?? inFile.enabled?.value ?? health.enabled
        let interval = durationFlag(
            "--collector.agent-health.interval", given.interval,
            atLeast: ExporterConfiguration.AgentHealth.minimumInterval)
        health.interval = (interval ?? inFile.interval)?.value ?? health.interval
        let timeout = durationFlag("--collector.agent-health.timeout", given.timeout)
        health.timeout = (timeout ?? inFile.timeout)?.value ?? health.timeout
        return health
    }

    /// The agent collector runs when it has something to read: an admin socket (by default the
    /// delegated collector's) or a data file. `NAME=` on either flag names the source.
    mutating func agent(otherSources: Set<String>) -> ExporterConfiguration.Agent? {
        typealias Agent = ExporterConfiguration.Agent
        let given = flags.agent
        let inFile = file.agent
        let enabled = given.enabled.map { Located($0, .flag("--collector.agent")) } ?? inFile.enabled
        if enabled?.value == false { return nil }
        var names: [Located<String>] = inFile.name.map { [$0] } ?? []
        func split(_ text: String?, _ flag: String) -> String? {
            guard let text else { return nil }
            let (name, value) = CertFilesFlags.optionallyNamed(text)
            if let name { names.append(Located(name, .flag(flag))) }
            return value
        }
        let addressFlag = "--collector.agent.admin-address"
        let dataFileFlag = "--collector.agent.data-file"
        var address: Located<WorkloadEndpointAddress>?
        if let text = split(given.adminAddress, addressFlag) {
            address = self.address(text, at: .flag(addressFlag))
        } else if let fileAddress = inFile.adminAddress {
            address = fileAddress
        } else if let text = flags.delegated.address, let parsed = try? WorkloadEndpointAddress(explaining: text) {
            // The admin socket serves both the Delegated Identity API and the Debug API.
            address = Located(parsed, .flag("--collector.delegated.address"))
        } else if let delegated = file.delegated.address {
            address = delegated
        }
        var dataFile = split(given.dataFile, dataFileFlag).map { Located($0, .flag(dataFileFlag)) } ?? inFile.dataFile
        if dataFile?.value.isEmpty == true {
            problem(.flag(dataFileFlag), "needs a path")
            dataFile = nil
        }
        let interval = durationFlag("--collector.agent.interval", given.interval, atLeast: Agent.minimumInterval)
        let timeout = durationFlag("--collector.agent.timeout", given.timeout)
        guard address != nil || dataFile != nil else {
            if let enabled, enabled.value {
                problem(
                    enabled.origin,
                    "the agent collector needs an admin socket or a data file (agent.admin_address, agent.data_file, \(addressFlag), \(dataFileFlag))")
            }
            return nil
        }
        let name = names.last ?? Located(Agent.defaultName, .defaultValue(of: addressFlag))
        if let other = names.first(where: { $0.value != name.value }) {
            problem(other.origin, "the agent source is named twice: \"\(other.value)\" and \"\(name.value)\"")
        }
        if otherSources.contains(name.value) || ExporterConfiguration.Delegated.reservedSourceNames.contains(name.value) {
            problem(name.origin, "source name \"\(name.value)\" is already used by another source; name the agent with NAME=")
        }
        return Agent(
            name: name.value, adminAddress: address?.value, dataFile: dataFile?.value,
            interval: (interval ?? inFile.interval)?.value ?? Agent.defaultInterval,
            timeout: (timeout ?? inFile.timeout)?.value ?? Agent.defaultTimeout)
    }

    /// The file's endpoints, then the flags'; each name once, and no other source's. The interval
    /// must lie within the refresh bounds (30 s..1 h): outside them it would be clamped silently.
    mutating func federation(otherSources: Set<String>) -> ExporterConfiguration.Federation {
        let given = flags.federation
        let inFile = file.federation
        let flag = "--collector.federation.endpoint"
        let endpoints = listed(inFile.endpoints, flag, given.endpoints) { text throws(FederationConfigurationError) in
            try FederationEndpointConfiguration.parseFlag(text)
        }
        var names: Set<String> = []
        var result: [FederationEndpointConfiguration] = []
        for endpoint in endpoints {
            let name = endpoint.value.name
            guard names.insert(name).inserted else {
                problem(endpoint.origin, "source name \"\(name)\" is used by two federation endpoints")
                continue
            }
            if otherSources.contains(name) || ExporterConfiguration.Delegated.reservedSourceNames.contains(name) {
                problem(endpoint.origin, "source name \"\(name)\" is already used by another source")
                continue
            }
            result.append(endpoint.value)
        }
        var interval = durationFlag("--collector.federation.interval", given.interval) ?? inFile.interval
        if let given = interval {
            let bounds = FederationBundleDocument.minimumRefresh...FederationBundleDocument.maximumRefresh
            if !bounds.contains(given.value.seconds) {
                let seconds = given.value.seconds
                let text = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
                problem(given.origin, "must be between 30s and 1h (got \(text)s)")
                interval = nil
            }
        }
        return ExporterConfiguration.Federation(endpoints: result, interval: interval?.value)
    }

    /// The file's targets, then the flags'. Without a timeout: 10 s, or the interval if shorter.
    /// `probe:`/`probe_modules:` and `--probe.allowed-target`/`--probe.max-concurrent`: the allow-list
    /// adds the flags to the file's entries; the flag's limit wins over the file's.
    mutating func probeEndpoint() -> ProbeEndpointSettings {
        let inFile = file.probeEndpoint
        var settings = ProbeEndpointSettings()
        settings.modules = inFile.modules.mapValues(\.value)
        var globs = inFile.allowedTargets
        globs += flags.probe.allowedTargets.map { Located($0, .flag("--probe.allowed-target")) }
        for glob in globs where glob.value.isEmpty || glob.value.contains(where: \.isWhitespace) {
            problem(glob.origin, "must be a host:port pattern with * and ? (got \"\(glob.value)\")")
        }
        settings.allowedTargets = globs.map { ProbeTargetGlob($0.value) }
        if let limit = flags.probe.maxConcurrent {
            if limit >= 0 { settings.maxConcurrent = limit } else { problem(.flag("--probe.max-concurrent"), "must be ≥ 0") }
        } else if let limit = inFile.maxConcurrent {
            settings.maxConcurrent = limit.value
        }
        return settings
    }

    mutating func probe(clientSource: String?) -> ProbeConfiguration {
        let given = flags.probe
        let inFile = file.probes
        var names = Set(inFile.targets.map(\.value.name))
        var targets = inFile.targets.map(\.value)
        for text in given.targets {
            guard let target = flag("--probe.target", text, ProbeTarget.init(parsing:)) else { continue }
            guard names.insert(target.value.name).inserted else {
                problem(target.origin, "\(ProbeConfigurationError(.duplicateName, text))")
                continue
            }
            targets.append(target.value)
        }
        let flagInterval = durationFlag("--probe.interval", given.interval, atLeast: ProbeConfiguration.minimumInterval)
        let interval = (flagInterval ?? inFile.interval)?.value ?? ProbeConfiguration.defaultInterval
        var timeout = ProbeConfiguration.impliedTimeout(interval: interval)
        if let given = durationFlag("--probe.timeout", given.timeout) ?? inFile.timeout {
            if ProbeConfiguration.isValidTimeout(given.value, interval: interval) {
                timeout = given.value
            } else {
                problem(given.origin, "must be more than 0 and at most the probe interval")
            }
        }
        return ProbeConfiguration(
            targets: targets, interval: interval, timeout: timeout,
            clientSource: clientSource ?? ProbeConfiguration.defaultClientSource)
    }

    /// Envoy admin endpoints: the file's, then the flag's; each name once, and no other source's.
    mutating func envoy(otherSources: Set<String>) -> ExporterConfiguration.Envoy {
        typealias Envoy = ExporterConfiguration.Envoy
        let given = flags.envoy
        let inFile = file.envoy
        let admins = listed(inFile.admins, "--collector.envoy.admin", given.admins) { try Envoy.admin(parsing: $0) }
        var envoy = Envoy()
        var names: Set<String> = []
        for admin in admins {
            let name = admin.value.name
            if otherSources.contains(name) {
                problem(admin.origin, "source name \"\(name)\" is already used by another source")
            } else if !names.insert(name).inserted {
                problem(admin.origin, "source name \"\(name)\" is used twice")
            } else {
                envoy.admins.append(admin.value)
            }
        }
        let flagInterval = durationFlag("--collector.envoy.interval", given.interval, atLeast: Envoy.minimumInterval)
        envoy.interval = (flagInterval ?? inFile.interval)?.value ?? Envoy.defaultInterval
        if let timeout = durationFlag("--collector.envoy.timeout", given.timeout) ?? inFile.timeout {
            if timeout.value > .zero, timeout.value <= envoy.interval {
                envoy.timeout = timeout.value
            } else {
                problem(timeout.origin, "must be more than 0 and at most the Envoy interval")
            }
        } else {
            envoy.timeout = min(Envoy.defaultTimeout, envoy.interval)
        }
        return envoy
    }

    /// Expected identities (file, then flags; each names a configured source, if any, and is
    /// one series), labels from the SPIFFE ID (file, then flags; at most five, each name once),
    /// and the issuer backdate.
    mutating func identities(sources: Set<String>) -> ExporterConfiguration.Identities {
        let given = flags.identities
        var identities = ExporterConfiguration.Identities()
        let expected = listed(file.expectedIdentities, "--expect.identity", given.expected) {
            try ExpectedIdentity(parsing: $0)
        }
        var keys: Set<String> = []
        for expectation in expected {
            let value = expectation.value
            if let source = value.source, !sources.contains(source) {
                problem(
                    expectation.origin,
                    "source \"\(source)\" is not configured (sources: \(sources.sorted().joined(separator: ", ")))")
            } else if !keys.insert(value.seriesKey).inserted {
                // One (source, spiffe_id) series each: an X.509 and a JWT expectation of one ID need different sources.
                problem(expectation.origin, "\"\(value.pattern)\" is already expected for source \"\(value.sourceLabel)\"")
            } else {
                identities.expected.append(value)
            }
        }
        let labels = listed(file.spiffeIDLabels, "--label.from-spiffe-id", given.spiffeIDLabels) {
            text throws(SPIFFEIDLabelError) in
            guard let equals = text.firstIndex(of: "=") else {
                throw SPIFFEIDLabelError("expected NAME=REGEX, got \"\(text)\"")
            }
            return try SPIFFEIDLabels.Label(
                name: String(text[..<equals]), pattern: String(text[text.index(after: equals)...]))
        }
        do {
            identities.spiffeIDLabels = try SPIFFEIDLabels(labels.map(\.value))
        } catch {
            // Reported where the list went wrong: the sixth label, or the second of a name.
            var seen: Set<String> = []
            let culprit = labels.enumerated().first { index, label in
                index >= SPIFFEIDLabels.maximumCount || !seen.insert(label.value.name).inserted
            }
            problem(culprit?.element.origin ?? .flag("--label.from-spiffe-id"), "\(error)")
        }
        let backdate = flag("--clock.issuer-backdate", given.issuerBackdate) { text throws(InvalidValue) in
            do { return try DurationText.duration(text) } catch { throw InvalidValue("\(error)") }
        }
        identities.issuerBackdate = (backdate ?? file.issuerBackdate)?.value ?? identities.issuerBackdate
        return identities
    }
}
