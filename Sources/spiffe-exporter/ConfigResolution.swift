import ArgumentParser
import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore
import SPIFFEExporterHTTP

/// The process's own command-line arguments, to tell an explicitly given flag from its default
/// (flag > env > file > default) and to re-parse option groups with file values first.
struct RawArguments {
    var arguments: [String]

    static var current: RawArguments { RawArguments(arguments: Array(CommandLine.arguments.dropFirst())) }

    func isGiven(_ long: String) -> Bool {
        arguments.contains { $0 == "--\(long)" || $0.hasPrefix("--\(long)=") }
    }

    /// Arguments whose long name starts with one of the prefixes, with their values.
    func group(prefixes: [String]) -> [String] {
        var out: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if prefixes.contains(where: { argument.hasPrefix("--" + $0) }) {
                out.append(argument)
                if !argument.contains("="), index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                    out.append(arguments[index + 1])
                    index += 1
                }
            }
            index += 1
        }
        return out
    }
}

/// Settings after merging the command line, the environment and the config file.
struct ResolvedSettings {
    /// The server options with file values filled in where no flag was given.
    var options: ServerOptions
    var renewal: RenewalTracker.Configuration
    var workloadAPI: [WorkloadAPICollectorConfiguration]
    var certFiles: CertFilesOptions
    var delegated: DelegatedOptions
    var probe: ProbeOptions

    /// Everything that decides which collectors run, to tell whether a reload changes anything.
    var collectorFingerprint: String {
        let sources = workloadAPI.map {
            "\($0.source)|\($0.address)|\($0.firstResponseTimeout)|\($0.jwtAudiences)|\($0.jwtInterval)"
        }
        return "\(sources)|\(String(reflecting: certFiles))|\(String(reflecting: delegated))|\(String(reflecting: probe))"
    }

    static func resolve(serve: Serve, file: ConfigFile?, raw: RawArguments, environment: [String: String]) throws
        -> ResolvedSettings
    {
        let file = file ?? ConfigFile()
        var options = serve.options
        if !raw.isGiven("web.listen-address"), let value = file.listenAddress { options.listenAddress = value }
        if !raw.isGiven("web.telemetry-path"), let value = file.telemetryPath { options.telemetryPath = value }
        if !raw.isGiven("web.config.file"), let value = file.webConfigFile { options.webConfigFile = value }
        if !raw.isGiven("web.max-requests"), let value = file.maxRequests { options.maxRequests = value }
        if !raw.isGiven("log.level"), let value = file.logLevel { options.logLevel = value }
        if !raw.isGiven("log.format"), let value = file.logFormat { options.logFormat = value }
        if !raw.isGiven("renewal.deadline-fraction"), let value = file.renewalDeadlineFraction {
            options.renewalDeadlineFraction = value
        }
        if !raw.isGiven("renewal.identity-grace-period"), let value = file.identityGracePeriod {
            options.identityGracePeriod = value
        }
        let renewal = try options.renewalConfiguration()

        var workloadAPI: [WorkloadAPICollectorConfiguration] = []
        if serve.workloadAPIEnabled {
            let fileSources = file.workloadAPI ?? [WorkloadAPISourceSettings(name: "workload_api")]
            for (index, source) in fileSources.enumerated() {
                // The first source is the one the flags and SPIFFE_ENDPOINT_SOCKET speak for.
                let addressText: String
                let origin: String
                if index == 0, let flag = serve.workloadAPIAddress {
                    (addressText, origin) = (flag, "--collector.workload-api.address")
                } else if index == 0, let env = environment[WorkloadEndpointAddress.environmentVariable] {
                    (addressText, origin) = (env, WorkloadEndpointAddress.environmentVariable)
                } else if let address = source.address {
                    (addressText, origin) = (address, "workload_api[\(index)].address in the config file")
                } else if index == 0 {
                    (addressText, origin) = (WorkloadEndpointAddress.defaultAddress, "the default address")
                } else {
                    throw ValidationError("workload_api source \"\(source.name)\" needs an address")
                }
                let address = try Self.workloadAPIAddress(addressText, origin: origin)
                var sourceOptions = options
                if index > 0 || !raw.isGiven("collector.workload-api.timeout"), let timeout = source.timeout {
                    sourceOptions.workloadAPITimeout = timeout
                }
                if index > 0 || !raw.isGiven("collector.workload-api.jwt-interval"), let interval = source.jwtInterval {
                    sourceOptions.jwtInterval = interval
                }
                var audiences = source.jwtAudiences
                if index == 0 && raw.isGiven("collector.workload-api.jwt-audience") { audiences = try options.jwtAudienceSets() }
                workloadAPI.append(
                    WorkloadAPICollectorConfiguration(
                        source: source.name, address: address, firstResponseTimeout: try sourceOptions.firstResponseTimeout(),
                        jwtAudiences: audiences, jwtInterval: try sourceOptions.jwtFetchInterval()))
            }
            var names = Set(workloadAPI.map(\.source))
            for text in serve.extraWorkloadAPISources {
                let flag = "--collector.workload-api.source"
                let name: String
                let addressText: String
                do {
                    (name, addressText) = try CertFilesFlags.parseNamedPath(text)
                } catch {
                    throw ValidationError("\(flag): expected NAME=ADDRESS with a name of letters, digits, '_', '-', '.', got \"\(text)\"")
                }
                guard names.insert(name).inserted else {
                    throw ValidationError("\(flag): source name \"\(name)\" is used twice")
                }
                let address = try Self.workloadAPIAddress(addressText, origin: flag + " " + name)
                workloadAPI.append(
                    WorkloadAPICollectorConfiguration(
                        source: name, address: address, firstResponseTimeout: try options.firstResponseTimeout(),
                        jwtAudiences: try options.jwtAudienceSets(), jwtInterval: try options.jwtFetchInterval()))
            }
        }
        // File values first, then the command line's: the last value of a flag wins, repeated ones add up.
        let certFiles = try CertFilesOptions.parse(file.certFilesArguments + raw.group(prefixes: ["collector.cert-files."]))
        let delegated = try DelegatedOptions.parse(
            file.delegatedArguments + raw.group(prefixes: ["collector.delegated.", "collector.agent-health", "no-collector.agent-health"]))
        let probe = try ProbeOptions.parse(file.probeArguments + raw.group(prefixes: ["probe."]))
        return ResolvedSettings(
            options: options, renewal: renewal, workloadAPI: workloadAPI, certFiles: certFiles, delegated: delegated,
            probe: probe)
    }

    /// An agent address, the error naming where the text came from.
    static func workloadAPIAddress(_ text: String, origin: String) throws -> WorkloadEndpointAddress {
        do {
            return try WorkloadEndpointAddress(parsing: text)
        } catch {
            throw ValidationError("\(origin) \"\(text)\": \(error)")
        }
    }

    /// Builds the collectors of these settings on the shared store and registry.
    func plan(context: CollectorContext) throws -> CollectorSupervisor.Plan {
        var components = ExporterComponents(context: context)
        for configuration in workloadAPI {
            components.addWorkloadAPI(configuration)
        }
        let certFileSources = try certFiles.addCollectors(to: &components)
        try delegated.addCollectors(to: &components, workloadAPISources: workloadAPI.map { ($0.source, $0.address) })
        // The probe presents the first Workload API source's SVID, under whatever name it was given,
        // and may authenticate servers with the bundles of every source.
        try probe.addProbe(
            to: &components, clientSource: workloadAPI.first?.source,
            bundleSources: workloadAPI.map(\.source) + certFileSources.map(\.name))
        return CollectorSupervisor.Plan(
            services: components.services, contributors: components.contributors,
            sources: components.plannedSources, targets: components.probeTargets)
    }

    /// Builds everything once on throwaway state: catches errors only plan building finds.
    func validate() throws {
        let quiet = Logger(label: "config-check") { _ in SwiftLogNoOpLogHandler() }
        _ = try plan(
            context: CollectorContext(
                store: IdentityStore(), board: SourceBoard(), registry: MetricsRegistry(), connections: AgentConnections(),
                logger: quiet))
        _ = try options.httpConfiguration()
        _ = try options.makeLogger()
        if let webConfigFile = options.webConfigFile {
            do {
                _ = try WebSecurity(file: webConfigFile, logger: quiet)
            } catch {
                throw ValidationError("--web.config.file: \(error)")
            }
        }
    }
}
