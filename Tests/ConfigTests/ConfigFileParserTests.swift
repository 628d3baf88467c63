import SPIFFEExporterConfig
import Testing

@Suite struct ConfigFileParserTests {
    let full = """
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
          directories:
            - {name: payments, path: /var/run/secrets/spiffe}
          globs:
            - {name: tls, pattern: "/etc/ssl/server/*.pem"}
            - {pattern: "/etc/certs/**/*.crt"}
        delegated:
          address: unix:///run/spire/admin.sock
          subscriptions:
            - {name: api, selectors: ["k8s:ns:payments", "k8s:sa:api"]}
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

    @Test func everySection() throws {
        let config = try ConfigFileParser.parse(full, file: "c.yml")
        #expect(config.listenAddress == "127.0.0.1:9841")
        #expect(config.webConfigFile == "/etc/spiffe-exporter/web.yml")
        #expect(config.maxRequests == 8)
        #expect(config.logLevel == "debug" && config.logFormat == "json")
        #expect(config.renewalDeadlineFraction == 0.6)
        #expect(config.identityGracePeriod == "15m")
        #expect(config.workloadAPI?.count == 2)
        #expect(config.workloadAPI?[0].jwtAudiences == [["db"], ["cache", "api"], ["x", "y"]])
        #expect(config.workloadAPI?[1].address == "tcp://127.0.0.1:8081")
        #expect(
            config.certFilesArguments == [
                "--collector.cert-files.dir=payments=/var/run/secrets/spiffe",
                "--collector.cert-files.glob=tls=/etc/ssl/server/*.pem",
                "--collector.cert-files.glob=/etc/certs/**/*.crt",
                "--collector.cert-files.refresh-interval=30s",
                "--collector.cert-files.max-file-size=512KiB",
            ])
        #expect(
            config.delegatedArguments == [
                "--collector.delegated.address=unix:///run/spire/admin.sock",
                "--collector.delegated.process-rescan-interval=10s",
                "--collector.delegated.timeout=5s",
                "--collector.delegated.subscription=api=k8s:ns:payments,k8s:sa:api",
                "--collector.delegated.process=nginx_pods=nginx",
                "--no-collector.agent-health",
                "--collector.agent-health.interval=30s",
                "--collector.agent-health.timeout=2s",
            ])
        #expect(
            config.probeArguments == [
                "--probe.interval=15s", "--probe.target=api=api.internal:8443,spiffe_id=spiffe://example.org/api,sni=api.internal",
            ])
    }

    @Test func emptyFileConfiguresNothing() throws {
        let config = try ConfigFileParser.parse("", file: "c.yml")
        #expect(config == ConfigFile())
    }

    @Test func allProblemsAreReportedWithLines() {
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
        do {
            _ = try ConfigFileParser.parse(text, file: "c.yml")
            Issue.record("expected errors")
        } catch {
            let lines = error.problems.map(\.description)
            #expect(lines.contains { $0.hasPrefix("c.yml:2:") && $0.contains("unknown key \"listen_adress\"") })
            #expect(lines.contains { $0.hasPrefix("c.yml:4:") && $0.contains("log.level") })
            #expect(lines.contains { $0.hasPrefix("c.yml:6:") && $0.contains("deadline_fraction") })
            #expect(lines.contains { $0.hasPrefix("c.yml:7:") && $0.contains("identity_grace_period") })
            #expect(lines.contains { $0.hasPrefix("c.yml:9:") && $0.contains("IP:port") })
            #expect(lines.contains { $0.contains("source name \"workload_api\" is used twice") })
            #expect(lines.contains { $0.hasPrefix("c.yml:14:") && $0.contains("source names") })
            #expect(lines.contains { $0.hasPrefix("c.yml:17:") && $0.contains("scheme") })
            #expect(lines.contains { $0.hasPrefix("c.yml:18:") && $0.contains("unknown_section") })
            #expect(error.problems.count >= 9)
        }
    }

    @Test(arguments: [
        ("web: [1, 2]", "web must be a mapping"),
        ("workload_api: {a: 1}", "workload_api must be a list"),
        ("log: {level: [x]}", "log.level must be a string"),
        ("key: [unclosed", "invalid YAML"),
        ("workload_api:\n  - name: a\n    jwt_audiences: [\"\"]", "audience set must not be empty"),
        ("delegated:\n  subscriptions:\n    - {name: a, selectors: [nocolon]}", "type:value"),
        ("delegated:\n  processes:\n    - {name: a, process: /usr/bin/x}", "must be a process name"),
        ("agent_health: {enabled: maybe}", "agent_health.enabled must be true or false"),
        ("web: {max_requests: -1}", "web.max_requests must be a whole number"),
    ])
    func typeErrors(_ text: String, _ expected: String) {
        do {
            _ = try ConfigFileParser.parse(text, file: "f")
            Issue.record("expected an error for \(text)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }
}
