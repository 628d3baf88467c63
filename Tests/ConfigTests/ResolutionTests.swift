import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// Defaults < file < environment < flags, setting by setting, as docs/configuration.md promises.
@Suite struct ResolutionTests {
    @Test func defaults() throws {
        let configuration = try resolve()
        #expect(configuration.web.listenAddress == ListenAddress(host: "0.0.0.0", port: 9841))
        #expect(configuration.web.telemetryPath == "/metrics" && configuration.web.configFile == nil)
        #expect(configuration.web.maxRequests == 40)
        #expect(configuration.log.level == .info && configuration.log.format == .logfmt)
        #expect(
            configuration.renewal.deadlineFraction == 0.75 && configuration.renewal.identityGracePeriod == .seconds(600)
        )
        #expect(configuration.strict == false)
        let collectors = configuration.collectors
        #expect(
            collectors.workloadAPI == [
                ExporterConfiguration.WorkloadAPISource(
                    name: "workload_api", address: .unix(path: "/tmp/spire-agent/public/api.sock"),
                    timeout: .seconds(10),
                    jwtAudiences: [], jwtInterval: .seconds(60))
            ])
        #expect(collectors.certFiles.isEmpty && collectors.delegated == nil)
        #expect(collectors.agentHealth == ExporterConfiguration.AgentHealth())
        #expect(collectors.agentHealth.enabled && collectors.agentHealth.interval == .seconds(15))
        #expect(collectors.agentHealth.timeout == .seconds(5))
        #expect(collectors.probe == ProbeConfiguration(targets: [], interval: .seconds(30), timeout: .seconds(10)))
    }

    /// One setting: its default, what the file makes of it, and the flag winning over the file.
    struct Precedence: Sendable, CustomTestStringConvertible {
        var setting: String
        var file: String
        var flags: CommandLineSettings
        var read: @Sendable (ExporterConfiguration) -> String?
        var expected: (default: String?, file: String?, flag: String?)
        var testDescription: String { setting }
    }

    /// A file with a spiffe-helper directory and a delegated subscription, so their settings show.
    static let sources = """
        cert_files:
          directories: [{name: helper, path: /run/helper}]
        delegated:
          address: unix:///run/spire/admin.sock
          processes: [{name: proxy, process: envoy}]

        """

    static let precedence: [Precedence] = [
        Precedence(
            setting: "web.listen_address", file: "web: {listen_address: '127.0.0.1:1'}",
            flags: CommandLineSettings(web: .init(listenAddress: "127.0.0.2:2")),
            read: { "\($0.web.listenAddress)" }, expected: ("0.0.0.0:9841", "127.0.0.1:1", "127.0.0.2:2")),
        Precedence(
            setting: "web.telemetry_path", file: "web: {telemetry_path: /file}",
            flags: CommandLineSettings(web: .init(telemetryPath: "/flag")),
            read: { $0.web.telemetryPath }, expected: ("/metrics", "/file", "/flag")),
        Precedence(
            setting: "web.config_file", file: "web: {config_file: file.yml}",
            flags: CommandLineSettings(web: .init(configFile: "flag.yml")),
            read: { $0.web.configFile }, expected: (nil, "file.yml", "flag.yml")),
        Precedence(
            setting: "web.max_requests", file: "web: {max_requests: 8}",
            flags: CommandLineSettings(web: .init(maxRequests: 0)),
            read: { "\($0.web.maxRequests)" }, expected: ("40", "8", "0")),
        Precedence(
            setting: "log.level", file: "log: {level: debug}", flags: CommandLineSettings(log: .init(level: "error")),
            read: { "\($0.log.level)" }, expected: ("info", "debug", "error")),
        Precedence(
            setting: "log.format", file: "log: {format: json}",
            flags: CommandLineSettings(log: .init(format: "logfmt")),
            read: { $0.log.format.rawValue }, expected: ("logfmt", "json", "logfmt")),
        Precedence(
            setting: "renewal.deadline_fraction", file: "renewal: {deadline_fraction: 0.6}",
            flags: CommandLineSettings(renewal: .init(deadlineFraction: 0.5)),
            read: { "\($0.renewal.deadlineFraction)" }, expected: ("0.75", "0.6", "0.5")),
        Precedence(
            setting: "renewal.identity_grace_period", file: "renewal: {identity_grace_period: 15m}",
            flags: CommandLineSettings(renewal: .init(identityGracePeriod: "1h")),
            read: { "\($0.renewal.identityGracePeriod)" },
            expected: ("600.0 seconds", "900.0 seconds", "3600.0 seconds")),
        Precedence(
            setting: "workload_api[0].timeout", file: "workload_api: [{timeout: 5s}]",
            flags: CommandLineSettings(workloadAPI: .init(timeout: "3s")),
            read: { $0.collectors.workloadAPI.first.map { "\($0.timeout)" } },
            expected: ("10.0 seconds", "5.0 seconds", "3.0 seconds")),
        Precedence(
            setting: "workload_api[0].jwt_interval", file: "workload_api: [{jwt_interval: 30s}]",
            flags: CommandLineSettings(workloadAPI: .init(jwtInterval: "2m")),
            read: { $0.collectors.workloadAPI.first.map { "\($0.jwtInterval)" } },
            expected: ("60.0 seconds", "30.0 seconds", "120.0 seconds")),
        Precedence(
            setting: "workload_api[0].jwt_audiences", file: "workload_api: [{jwt_audiences: [db, 'b,a']}]",
            flags: CommandLineSettings(workloadAPI: .init(jwtAudiences: ["api"])),
            read: { $0.collectors.workloadAPI.first.map { "\($0.jwtAudiences)" } },
            expected: ("[]", #"[["db"], ["a", "b"]]"#, #"[["api"]]"#)),
        Precedence(
            setting: "cert_files.refresh_interval",
            file: sources.replacingOccurrences(of: "cert_files:", with: "cert_files:\n  refresh_interval: 30s"),
            flags: CommandLineSettings(certFiles: .init(refreshInterval: "2m")),
            read: { $0.collectors.certFiles.first.map { "\($0.refreshInterval)" } },
            expected: (nil, "30.0 seconds", "120.0 seconds")),
        Precedence(
            setting: "cert_files.max_file_size",
            file: sources.replacingOccurrences(of: "cert_files:", with: "cert_files:\n  max_file_size: 2KiB"),
            flags: CommandLineSettings(certFiles: .init(maxFileSize: "1MB")),
            read: { $0.collectors.certFiles.first.map { "\($0.maxFileSize)" } }, expected: (nil, "2048", "1000000")),
        Precedence(
            setting: "cert_files.settle_delay",
            file: sources.replacingOccurrences(of: "cert_files:", with: "cert_files:\n  settle_delay: 1s"),
            flags: CommandLineSettings(certFiles: .init(settleDelay: "50ms")),
            read: { $0.collectors.certFiles.first.map { "\($0.settleDelay)" } },
            expected: (nil, "1.0 seconds", "0.05 seconds")),
        Precedence(
            setting: "cert_files.svid_file_name",
            file: sources.replacingOccurrences(of: "cert_files:", with: "cert_files:\n  svid_file_name: file.pem"),
            flags: CommandLineSettings(certFiles: .init(svidFileName: "flag.pem")),
            read: {
                guard case .spiffeHelperDirectory(_, let files) = $0.collectors.certFiles.first?.kind else {
                    return nil
                }
                return files.svid
            }, expected: (nil, "file.pem", "flag.pem")),
        Precedence(
            setting: "delegated.timeout", file: sources + "  timeout: 3s",
            flags: CommandLineSettings(delegated: .init(timeout: "20s")),
            read: { $0.collectors.delegated.map { "\($0.timeout)" } }, expected: (nil, "3.0 seconds", "20.0 seconds")),
        Precedence(
            setting: "delegated.process_rescan_interval", file: sources + "  process_rescan_interval: 5s",
            flags: CommandLineSettings(delegated: .init(processRescanInterval: "1m")),
            read: { $0.collectors.delegated.map { "\($0.subscriptions.processRescanInterval)" } },
            expected: (nil, "5.0 seconds", "60.0 seconds")),
        Precedence(
            setting: "agent_health.enabled", file: "agent_health: {enabled: false}",
            flags: CommandLineSettings(agentHealth: .init(enabled: true)),
            read: { "\($0.collectors.agentHealth.enabled)" }, expected: ("true", "false", "true")),
        Precedence(
            setting: "agent_health.interval", file: "agent_health: {interval: 30s}",
            flags: CommandLineSettings(agentHealth: .init(interval: "1m")),
            read: { "\($0.collectors.agentHealth.interval)" },
            expected: ("15.0 seconds", "30.0 seconds", "60.0 seconds")),
        Precedence(
            setting: "agent_health.timeout", file: "agent_health: {timeout: 2s}",
            flags: CommandLineSettings(agentHealth: .init(timeout: "1s")),
            read: { "\($0.collectors.agentHealth.timeout)" }, expected: ("5.0 seconds", "2.0 seconds", "1.0 seconds")),
        Precedence(
            setting: "probes.interval", file: "probes: {interval: 1m}",
            flags: CommandLineSettings(probe: .init(interval: "2m")),
            read: { "\($0.collectors.probe.interval)" }, expected: ("30.0 seconds", "60.0 seconds", "120.0 seconds")),
        Precedence(
            setting: "probes.timeout", file: "probes: {timeout: 5s}",
            flags: CommandLineSettings(probe: .init(timeout: "7s")),
            read: { "\($0.collectors.probe.timeout)" }, expected: ("10.0 seconds", "5.0 seconds", "7.0 seconds")),
    ]

    @Test("flag > file > default", arguments: precedence)
    func flagOverFileOverDefault(_ setting: Precedence) throws {
        #expect(setting.read(try resolve()) == setting.expected.default, "default")
        #expect(setting.read(try resolve(setting.file)) == setting.expected.file, "file")
        #expect(
            setting.read(try resolve(setting.file, flags: setting.flags)) == setting.expected.flag, "flag over file")
        if setting.expected.default != nil {
            #expect(setting.read(try resolve(flags: setting.flags)) == setting.expected.flag, "flag alone")
        }
    }

    @Test("the first agent's address: flag > SPIFFE_ENDPOINT_SOCKET > file > default")
    func addressPrecedence() throws {
        let file = "workload_api:\n  - address: unix:///from/file.sock\n"
        let env = [WorkloadEndpointAddress.environmentVariable: "unix:///from/env.sock"]
        let flags = CommandLineSettings(workloadAPI: .init(address: "unix:///from/flag.sock"))
        func address(_ configuration: ExporterConfiguration) -> String? {
            configuration.collectors.workloadAPI.first.map { "\($0.address)" }
        }
        #expect(address(try resolve()) == "unix:///tmp/spire-agent/public/api.sock")
        #expect(address(try resolve(file)) == "unix:///from/file.sock")
        #expect(address(try resolve(file, environment: env)) == "unix:///from/env.sock")
        #expect(address(try resolve(file, flags: flags, environment: env)) == "unix:///from/flag.sock")
        #expect(address(try resolve(environment: env)) == "unix:///from/env.sock")
    }

    @Test("the flags speak for the first source; later sources keep their own values, the flags fill in")
    func firstSourceAndTheOthers() throws {
        let file = """
            workload_api:
              - name: a
                address: unix:///a.sock
                timeout: 1s
                jwt_audiences: [file]
              - name: b
                address: unix:///b.sock
                jwt_audiences: [b_only]
              - name: c
                address: unix:///c.sock
                timeout: 4s
            """
        let flags = CommandLineSettings(
            workloadAPI: .init(
                timeout: "2s", jwtAudiences: ["flag"], jwtInterval: "90s", extraSources: ["d=unix:///d.sock"]))
        let env = [WorkloadEndpointAddress.environmentVariable: "unix:///env.sock"]
        let sources = try resolve(file, flags: flags, environment: env).collectors.workloadAPI
        #expect(sources.map(\.name) == ["a", "b", "c", "d"])
        #expect(
            sources.map { "\($0.address)" } == [
                "unix:///env.sock", "unix:///b.sock", "unix:///c.sock", "unix:///d.sock",
            ])
        #expect(sources.map(\.timeout) == [.seconds(2), .seconds(2), .seconds(4), .seconds(2)])
        #expect(sources.map(\.jwtAudiences) == [[["flag"]], [["b_only"]], [], [["flag"]]])
        #expect(sources.map(\.jwtInterval) == Array(repeating: .seconds(90), count: 4))
    }

    @Test("--collector.workload-api.source takes the flags' settings, not the file's first entry's")
    func extraSourcesFromFlags() throws {
        let file = "workload_api:\n  - {name: a, address: 'unix:///a.sock', timeout: 1s, jwt_audiences: [x]}\n"
        let sources = try resolve(
            file, flags: CommandLineSettings(workloadAPI: .init(extraSources: ["b=tcp://127.0.0.1:8081"]))
        )
        .collectors.workloadAPI
        #expect(
            sources.last
                == ExporterConfiguration.WorkloadAPISource(name: "b", address: .tcp(host: "127.0.0.1", port: 8081)))
    }

    @Test("--no-collector.workload-api: no source, so no agent health check; the probe keeps its default client")
    func workloadAPIDisabled() throws {
        let file =
            "workload_api:\n  - {name: a, address: 'unix:///a.sock'}\nprobes:\n  targets: [{name: t, address: 'h:1'}]\n"
        let collectors = try resolve(
            file, flags: CommandLineSettings(workloadAPI: .init(enabled: false, address: "bad"))
        )
        .collectors
        #expect(collectors.workloadAPI.isEmpty)
        #expect(collectors.probe.clientSource == "workload_api")
    }

    @Test("repeatable flags add to the file's entries, file first")
    func repeatableFlagsAddUp() throws {
        let file = """
            cert_files:
              directories: [{name: file_dir, path: /f}]
              globs: [{name: certs, pattern: "/file/*.pem"}]
              federated_bundle_file_names: [fed_file.pem]
              jwt_svid_file_names: [file.token]
            delegated:
              address: unix:///admin.sock
              subscriptions: [{name: file_sub, selectors: ["k8s:ns:a"]}]
              processes: [{name: file_proc, process: envoy}]
            probes:
              targets: [{name: file_target, address: "f.internal:1"}]
            """
        let flags = CommandLineSettings(
            certFiles: .init(
                directories: ["flag_dir=/g"], globs: ["certs=/flag/*.pem"], federatedBundleFileNames: ["fed_flag.pem"],
                jwtSVIDFileNames: ["flag.token"]),
            delegated: .init(subscriptions: ["flag_sub=k8s:ns:b"], processes: ["flag_proc=nginx"]),
            probe: .init(targets: ["flag_target=g.internal:2"]))
        let collectors = try resolve(file, flags: flags).collectors
        #expect(collectors.certFiles.map(\.name) == ["file_dir", "flag_dir", "certs"])
        #expect(collectors.certFiles.last?.kind == .glob(patterns: ["/file/*.pem", "/flag/*.pem"]))
        guard case .spiffeHelperDirectory(_, let files) = collectors.certFiles.first?.kind else {
            Issue.record("no directory source")
            return
        }
        #expect(files.federatedBundles.map(\.fileName) == ["fed_file.pem", "fed_flag.pem"])
        #expect(files.jwtSVIDs == ["file.token", "flag.token"])
        // Selector subscriptions first, then processes; within each, the file's first.
        #expect(
            collectors.delegated?.subscriptions.subscriptions.map(\.name) == [
                "file_sub", "flag_sub", "file_proc", "flag_proc",
            ])
        #expect(collectors.probe.targets.map(\.name) == ["file_target", "flag_target"])
    }

    @Test("empty key and bundle file names mean the files are not written")
    func emptyFileNames() throws {
        let flags = CommandLineSettings(
            certFiles: .init(directories: ["d=/d"], svidKeyFileName: "", svidBundleFileName: "", jwtBundleFileName: ""))
        let kind = try resolve(flags: flags).collectors.certFiles.first?.kind
        #expect(
            kind
                == .spiffeHelperDirectory(
                    path: "/d", files: SPIFFEHelperFileNames(key: nil, bundle: nil, jwtBundle: nil)))
    }

    @Test("the probe presents the first Workload API source's SVID; without a timeout it gets 10 s or its interval")
    func probeDefaults() throws {
        let file = "workload_api:\n  - name: agent_a\nprobes:\n  interval: 4s\n  targets: [{name: t, address: 'h:1'}]\n"
        let probe = try resolve(file).collectors.probe
        #expect(probe.clientSource == "agent_a")
        #expect(probe.interval == .seconds(4) && probe.timeout == .seconds(4))
    }

    @Test("the delegated collector runs only when configured")
    func delegatedOnlyWhenConfigured() throws {
        #expect(try resolve().collectors.delegated == nil)
        let flags = CommandLineSettings(
            delegated: .init(address: "unix:///admin.sock", subscriptions: ["api=k8s:sa:api,k8s:ns:a"], timeout: "2s"))
        #expect(
            try resolve(flags: flags).collectors.delegated
                == ExporterConfiguration.Delegated(
                    subscriptions: DelegatedConfiguration(
                        address: .unix(path: "/admin.sock"),
                        subscriptions: [try DelegatedFlags.parseSubscription("api=k8s:ns:a,k8s:sa:api")]),
                    timeout: .seconds(2)))
    }

    @Test("--strict is carried")
    func strict() throws {
        #expect(try resolve(flags: CommandLineSettings(strict: true)).strict)
    }

    @Test("bootstrap bundle files from the file and the flag, with the cert-files settings")
    func bundleFiles() throws {
        let configuration = try resolve(
            """
            cert_files:
              refresh_interval: 30s
              bundle_files:
                - {name: configmap, trust_domain: example.org, path: /run/spire/bundle/bundle.crt}
            """,
            flags: CommandLineSettings(certFiles: .init(bundleFiles: ["bootstrap=partner.test=/etc/spire/a=b.crt"])))
        let files = configuration.collectors.certFiles.map { ($0.name, $0.kind, $0.refreshInterval) }
        #expect(files.map(\.0) == ["configmap", "bootstrap"])
        #expect(files.map(\.1) == [
            .bundleFile(path: "/run/spire/bundle/bundle.crt", trustDomain: "example.org"),
            .bundleFile(path: "/etc/spire/a=b.crt", trustDomain: "partner.test"),
        ])
        #expect(files.allSatisfy { $0.2 == .seconds(30) })
    }
}
