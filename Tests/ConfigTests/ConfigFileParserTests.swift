import Foundation
import Logging
import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// The YAML file decoded into typed values, each with the line it came from.
@Suite struct ConfigFileParserTests {
    static let full = """
        web:
          listen_address: 127.0.0.1:9841
          telemetry_path: /metrics
          config_file: /etc/spiffe-exporter/web.yml
          max_requests: 8
        log:
          level: debug
          format: json
        renewal:
          deadline_fraction: 0.6
          identity_grace_period: 15m
        workload_api:
          - name: workload_api
            address: unix:///run/spire/sockets/agent.sock
            timeout: 5s
            jwt_audiences: [db, "cache,api", [x, y]]
            jwt_interval: 30s
          - name: second_agent
            address: tcp://127.0.0.1:8081
        cert_files:
          refresh_interval: 30s
          max_file_size: 512KiB
          settle_delay: 1s
          svid_key_file_name: ""
          federated_bundle_file_names: ["partner.example=partner.pem"]
          jwt_svid_file_names: token
          directories:
            - {name: payments, path: /var/run/secrets/spiffe}
          globs:
            - {name: tls, pattern: "/etc/ssl/server/*.pem"}
            - {pattern: "/etc/certs/**/*.crt"}
        delegated:
          address: unix:///run/spire/admin.sock
          subscriptions:
            - {name: api, selectors: ["k8s:sa:api", "k8s:ns:payments", "k8s:sa:api"]}
          processes:
            - {name: nginx_pods, process: nginx}
          process_rescan_interval: 10s
          timeout: 5s
        agent_health:
          enabled: false
          interval: 30s
          timeout: 2s
        probes:
          interval: 15s
          targets:
            - {name: api, address: "api.internal:8443", spiffe_id: "spiffe://example.org/api", sni: api.internal}
        """

    func at(_ line: Int, _ key: String) -> Origin { .file(path: "c.yml", line: line, key: key) }

    @Test func everySectionIsTyped() throws {
        let config = try ConfigFileParser.parse(Self.full, file: "c.yml")
        #expect(
            config.web.listenAddress
                == Located(ListenAddress(host: "127.0.0.1", port: 9841), at(2, "web.listen_address")))
        #expect(config.web.configFile?.value == "/etc/spiffe-exporter/web.yml")
        #expect(config.web.maxRequests?.value == 8)
        #expect(config.log.level?.value == .debug && config.log.format?.value == .json)
        #expect(config.renewal.deadlineFraction == Located(0.6, at(10, "renewal.deadline_fraction")))
        #expect(config.renewal.identityGracePeriod?.value == .seconds(900))

        let sources = try #require(config.workloadAPI)
        #expect(sources.map(\.name.value) == ["workload_api", "second_agent"])
        #expect(sources[0].address?.value == .unix(path: "/run/spire/sockets/agent.sock"))
        #expect(sources[0].timeout == Located(.seconds(5), at(15, "workload_api[0].timeout")))
        #expect(sources[0].jwtAudiences == [["db"], ["cache", "api"], ["x", "y"]])
        #expect(sources[0].jwtInterval?.value == .seconds(30))
        #expect(sources[1].address?.value == .tcp(host: "127.0.0.1", port: 8081))
        #expect(sources[1].timeout == nil)

        let certFiles = config.certFiles
        #expect(certFiles.directories.map(\.value) == [.directory(name: "payments", path: "/var/run/secrets/spiffe")])
        #expect(
            certFiles.globs.map(\.value) == [
                .glob(name: "tls", pattern: "/etc/ssl/server/*.pem"),
                .glob(name: "cert_files", pattern: "/etc/certs/**/*.crt"),
            ])
        #expect(certFiles.refreshInterval?.value == .seconds(30))
        #expect(certFiles.maxFileSize?.value == 512 * 1024)
        #expect(certFiles.settleDelay?.value == .seconds(1))
        #expect(certFiles.svidKeyFileName?.value == "")
        #expect(
            certFiles.federatedBundleFiles.map(\.value) == [
                FederatedBundleFile(trustDomain: "partner.example", fileName: "partner.pem")
            ])
        #expect(certFiles.jwtSVIDFileNames.map(\.value) == ["token"])

        let delegated = config.delegated
        #expect(delegated.address?.value == .unix(path: "/run/spire/admin.sock"))
        // The agent matches a set of selectors: sorted, without repeats.
        #expect(
            delegated.subscriptions.map(\.value) == [
                DelegatedSubscription(
                    name: "api",
                    target: .selectors([
                        DelegatedSelector(type: "k8s", value: "ns:payments"),
                        DelegatedSelector(type: "k8s", value: "sa:api"),
                    ]))
            ])
        #expect(delegated.subscriptions.first?.origin == at(35, "delegated.subscriptions[0].name"))
        #expect(
            delegated.processes.map(\.value) == [
                DelegatedSubscription(name: "nginx_pods", target: .processName("nginx"))
            ])
        #expect(delegated.processRescanInterval?.value == .seconds(10))
        #expect(delegated.timeout?.value == .seconds(5))

        #expect(config.agentHealth.enabled == Located(false, at(41, "agent_health.enabled")))
        #expect(config.agentHealth.interval?.value == .seconds(30) && config.agentHealth.timeout?.value == .seconds(2))

        #expect(config.probes.interval?.value == .seconds(15))
        #expect(config.probes.timeout == nil)
        #expect(
            config.probes.targets.map(\.value) == [
                ProbeTarget(
                    name: "api", host: "api.internal", port: 8443, spiffeID: "spiffe://example.org/api",
                    serverName: "api.internal")
            ])
    }

    @Test func emptyFileConfiguresNothing() throws {
        #expect(try ConfigFileParser.parse("", file: "c.yml") == ConfigFile())
        #expect(try ConfigFileParser.parse("# only a comment\n", file: "c.yml") == ConfigFile())
    }

    @Test func unnamedFirstSourceIsTheDefaultOne() throws {
        let config = try ConfigFileParser.parse("workload_api:\n  - timeout: 3s\n", file: "c.yml")
        #expect(config.workloadAPI?.map(\.name.value) == ["workload_api"])
    }

    @Test func everyProblemIsReportedWithItsLine() {
        let text = """
            web:
              listen_adress: ":9841"
            log:
              level: loud
            renewal:
              deadline_fraction: 2
              identity_grace_period: soon
            workload_api:
              - address: "tcp://example.com:80"
              - name: workload_api
                address: unix:///x
            cert_files:
              directories:
                - {name: "bad name", path: /x}
            probes:
              targets:
                - {name: p, address: "h:1", spiffe_id: "SPIFFE://x"}
            unknown_section: 1
            """
        let problems = Self.problems(text)
        let lines = problems.map(\.description)
        #expect(lines.contains { $0.hasPrefix("c.yml:2: web: unknown key \"listen_adress\"") })
        #expect(lines.contains { $0.hasPrefix("c.yml:4: log.level: ") })
        #expect(lines.contains { $0.hasPrefix("c.yml:6: renewal.deadline_fraction: ") })
        #expect(lines.contains { $0.hasPrefix("c.yml:7: renewal.identity_grace_period: ") })
        #expect(lines.contains { $0.hasPrefix("c.yml:9: workload_api[0].address: ") && $0.contains("IP:port") })
        #expect(
            lines.contains { $0.hasPrefix("c.yml:10: ") && $0.contains("source name \"workload_api\" is used twice") })
        #expect(lines.contains { $0.hasPrefix("c.yml:14: cert_files.directories[0].name: source names") })
        #expect(lines.contains { $0.hasPrefix("c.yml:17: probes.targets[0].spiffe_id: ") })
        #expect(lines.contains { $0.hasPrefix("c.yml:18: unknown key \"unknown_section\"") })
        #expect(problems.count == 9, "\(lines)")
    }

    @Test func unreadableFile() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString).yml").path
        #expect(Self.loadProblems(path).map(\.description) == ["\(path): cannot read the file: not found"])
        let directory = FileManager.default.temporaryDirectory.path
        #expect(Self.loadProblems(directory).map(\.description) == ["\(directory): cannot read the file: is a directory"])
    }

    @Test func problemsAreListedInLineOrder() {
        // Read in key order (web before log), reported in line order.
        let problems = Self.problems("log:\n  level: loud\nweb:\n  listen_address: x\n  max_requests: -1\n")
        let lines = problems.compactMap { problem -> Int? in
            if case .file(_, let line, _) = problem.origin { return line }
            return nil
        }
        #expect(lines.count == problems.count && lines.count >= 2, "\(problems)")
        #expect(lines == lines.sorted(), "\(problems)")
        let unsorted = ConfigurationProblems([
            ConfigurationProblem(.flag("--log.level"), "flag"),
            ConfigurationProblem(.file(path: "c.yml", line: 9, key: "b"), "nine"),
            ConfigurationProblem(.file(path: "c.yml", line: 2, key: "a"), "two"),
        ])
        #expect(unsorted.problems.map(\.message) == ["two", "nine", "flag"])
    }

    static func problems(_ text: String) -> [ConfigurationProblem] {
        do {
            _ = try ConfigFileParser.parse(text, file: "c.yml")
            return []
        } catch {
            return error.problems
        }
    }

    static func loadProblems(_ path: String) -> [ConfigurationProblem] {
        do {
            _ = try ConfigFileParser.load(path: path)
            return []
        } catch {
            return error.problems
        }
    }
}
