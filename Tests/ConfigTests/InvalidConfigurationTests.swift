import Foundation
import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// Every rule, broken once: one config file per invalid case under Fixtures/invalid (each says, in
/// `# expect: LINE: TEXT` comments, the problems it must raise), and one flag value per case.
@Suite struct InvalidConfigurationTests {
    static let fixtureDirectory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/invalid")

    static let fixtures: [String] =
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtureDirectory.path)) ?? [])
        .filter { $0.hasSuffix(".yml") }.sorted()

    struct Expected: Equatable, CustomStringConvertible {
        var line: Int
        var text: String
        var description: String { "\(line): \(text)" }
    }

    /// The `# expect: LINE: TEXT` comments of a fixture.
    static func expectations(_ text: String) -> [Expected] {
        text.split(separator: "\n").compactMap { line -> Expected? in
            guard line.hasPrefix("# expect: ") else { return nil }
            let rest = line.dropFirst("# expect: ".count)
            guard let colon = rest.firstIndex(of: ":"), let number = Int(rest[..<colon]) else { return nil }
            return Expected(line: number, text: rest[rest.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func thereIsAFixtureForEveryRule() {
        // Keeps the parameterized test below from passing by finding nothing.
        #expect(Self.fixtures.count >= 60, "\(Self.fixtures)")
    }

    @Test("an invalid config file raises exactly the problems it expects, at their lines", arguments: fixtures)
    func invalidFixture(_ name: String) throws {
        let path = Self.fixtureDirectory.appendingPathComponent(name).path
        let expected = Self.expectations(try String(contentsOfFile: path, encoding: .utf8))
        try #require(!expected.isEmpty, "\(name) has no # expect: comment")
        var problems: [ConfigurationProblem] = []
        do {
            _ = try ExporterConfiguration.load(configFile: path, flags: CommandLineSettings(), environment: [:])
        } catch {
            problems = error.problems
        }
        #expect(problems.count == expected.count, "\(problems.map(\.description))")
        for expectation in expected {
            let found = problems.contains { problem in
                guard case .file(let file, let line, _) = problem.origin else { return false }
                return file == path && line == expectation.line
                    && problem.description.hasPrefix("\(path):\(expectation.line): \(expectation.text)")
            }
            #expect(found, "expected \(expectation), got \(problems.map(\.description))")
        }
    }

    /// A flag (or variable) value breaking one rule, and the problem it must raise.
    struct BadFlag: Sendable, CustomTestStringConvertible {
        var flags: CommandLineSettings
        var environment: [String: String] = [:]
        var file: String?
        var origin: Origin
        var message: String
        var testDescription: String { "\(origin): \(message)" }
    }

    static let badFlags: [BadFlag] = [
        BadFlag(
            flags: .init(web: .init(listenAddress: "nonsense")), origin: .flag("--web.listen-address"),
            message: "listen address \"nonsense\" needs a port"),
        BadFlag(
            flags: .init(web: .init(listenAddress: "127.0.0.1:99999")), origin: .flag("--web.listen-address"),
            message: "listen address \"127.0.0.1:99999\" has an invalid port"),
        BadFlag(
            flags: .init(log: .init(level: "verbose")), origin: .flag("--log.level"),
            message: "must be debug, info, warn or error (got \"verbose\")"),
        BadFlag(
            flags: .init(log: .init(format: "xml")), origin: .flag("--log.format"),
            message: "must be logfmt or json (got \"xml\")"),
        BadFlag(
            flags: .init(renewal: .init(deadlineFraction: 0)), origin: .flag("--renewal.deadline-fraction"),
            message: "must be in (0, 1] (got 0.0)"),
        BadFlag(
            flags: .init(renewal: .init(identityGracePeriod: "soon")), origin: .flag("--renewal.identity-grace-period"),
            message: "invalid duration \"soon\""),
        BadFlag(
            flags: .init(workloadAPI: .init(address: "tcp://example.com:80")),
            origin: .flag("--collector.workload-api.address"),
            message: "\"tcp://example.com:80\": workload endpoint tcp socket URI host component must be an IP:port"),
        BadFlag(
            flags: .init(), environment: [WorkloadEndpointAddress.environmentVariable: "unix:agent.sock"],
            origin: .environment("SPIFFE_ENDPOINT_SOCKET"),
            message: "\"unix:agent.sock\": workload endpoint socket URI must not be opaque"),
        BadFlag(
            flags: .init(workloadAPI: .init(timeout: "soon")), origin: .flag("--collector.workload-api.timeout"),
            message: "invalid duration \"soon\""),
        BadFlag(
            flags: .init(workloadAPI: .init(jwtInterval: "500ms")),
            origin: .flag("--collector.workload-api.jwt-interval"),
            message: "must be at least 1s (got 500ms)"),
        BadFlag(
            flags: .init(workloadAPI: .init(jwtAudiences: [" , "])),
            origin: .flag("--collector.workload-api.jwt-audience"),
            message: "an audience set must not be empty"),
        BadFlag(
            flags: .init(workloadAPI: .init(extraSources: ["no-address"])),
            origin: .flag("--collector.workload-api.source"),
            message: "expected NAME=ADDRESS"),
        BadFlag(
            flags: .init(workloadAPI: .init(extraSources: ["workload_api=unix:///b.sock"])),
            origin: .flag("--collector.workload-api.source"), message: "source name \"workload_api\" is used twice"),
        BadFlag(
            flags: .init(workloadAPI: .init(extraSources: ["b=tcp://example.org:1"])),
            origin: .flag("--collector.workload-api.source"),
            message: "\"tcp://example.org:1\": workload endpoint tcp socket URI host component must be an IP:port"),
        BadFlag(
            flags: .init(certFiles: .init(directories: ["/run/certs"])), origin: .flag("--collector.cert-files.dir"),
            message: "expected NAME=PATH, got \"/run/certs\""),
        BadFlag(
            flags: .init(certFiles: .init(globs: ["x=/etc/[ab.pem"])), origin: .flag("--collector.cert-files.glob"),
            message: "invalid glob \"/etc/[ab.pem\""),
        BadFlag(
            flags: .init(certFiles: .init(refreshInterval: "500ms")),
            origin: .flag("--collector.cert-files.refresh-interval"),
            message: "must be at least 1s (got 500ms)"),
        BadFlag(
            flags: .init(certFiles: .init(maxFileSize: "0")), origin: .flag("--collector.cert-files.max-file-size"),
            message: "invalid size \"0\""),
        BadFlag(
            flags: .init(certFiles: .init(settleDelay: "later")), origin: .flag("--collector.cert-files.settle-delay"),
            message: "invalid duration \"later\""),
        BadFlag(
            flags: .init(certFiles: .init(directories: ["d=/d"], svidFileName: "a/b.pem")),
            origin: .flag("--collector.cert-files.svid-file-name"), message: "invalid file name \"a/b.pem\""),
        BadFlag(
            flags: .init(certFiles: .init(directories: ["d=/d"], jwtSVIDFileNames: ["svid.pem"])),
            origin: .flag("--collector.cert-files.jwt-svid-file-name"),
            message: "file name \"svid.pem\" is already used for another file"),
        BadFlag(
            flags: .init(certFiles: .init(federatedBundleFileNames: ["Bad_Domain=x.pem"])),
            origin: .flag("--collector.cert-files.federated-bundle-file-name"), message: "invalid federated bundle"),
        BadFlag(
            flags: .init(certFiles: .init(directories: ["d=/a", "d=/b"])), origin: .flag("--collector.cert-files.dir"),
            message: "source name \"d\" is used twice"),
        BadFlag(
            flags: .init(certFiles: .init(directories: ["workload_api=/a"])),
            origin: .flag("--collector.cert-files.dir"),
            message: "source name \"workload_api\" is reserved"),
        BadFlag(
            flags: .init(
                workloadAPI: .init(extraSources: ["x=unix:///x.sock"]), certFiles: .init(directories: ["x=/tmp"])),
            origin: .flag("--collector.cert-files.dir"), message: "source name \"x\" is already a Workload API source"),
        BadFlag(
            flags: .init(delegated: .init(subscriptions: ["payments=k8s:ns:payments"])),
            origin: .flag("--collector.delegated.subscription"), message: "needs the agent's admin socket"),
        BadFlag(
            flags: .init(delegated: .init(address: "unix:///admin.sock")),
            origin: .flag("--collector.delegated.address"),
            message: "the delegated collector needs at least one subscription or process"),
        BadFlag(
            flags: .init(delegated: .init(address: "unix:///admin.sock", subscriptions: ["payments=k8s"])),
            origin: .flag("--collector.delegated.subscription"), message: "invalid selector \"k8s\""),
        BadFlag(
            flags: .init(delegated: .init(address: "unix:///admin.sock", processes: ["p=/usr/bin/envoy"])),
            origin: .flag("--collector.delegated.process"), message: "invalid process name \"/usr/bin/envoy\""),
        BadFlag(
            flags: .init(delegated: .init(address: "tcp://example.com:1", processes: ["p=envoy"])),
            origin: .flag("--collector.delegated.address"), message: "\"tcp://example.com:1\":"),
        BadFlag(
            flags: .init(delegated: .init(address: "unix:///admin.sock", subscriptions: ["workload_api=k8s:ns:a"])),
            origin: .flag("--collector.delegated.subscription"),
            message: "subscription name \"workload_api\" is already the name of another source"),
        BadFlag(
            flags: .init(
                delegated: .init(address: "unix:///admin.sock", subscriptions: ["a=k8s:ns:a"], processes: ["a=envoy"])),
            origin: .flag("--collector.delegated.process"), message: "subscription name \"a\" is used twice"),
        BadFlag(
            flags: .init(delegated: .init(processRescanInterval: "0s")),
            origin: .flag("--collector.delegated.process-rescan-interval"),
            message: "must be at least 1s (got 0s)"),
        BadFlag(
            flags: .init(delegated: .init(timeout: "soon")), origin: .flag("--collector.delegated.timeout"),
            message: "invalid duration \"soon\""),
        BadFlag(
            flags: .init(agentHealth: .init(interval: "soon")), origin: .flag("--collector.agent-health.interval"),
            message: "invalid duration \"soon\""),
        BadFlag(
            flags: .init(agentHealth: .init(interval: "500ms")), origin: .flag("--collector.agent-health.interval"),
            message: "must be at least 1s (got 500ms)"),
        BadFlag(
            flags: .init(agentHealth: .init(timeout: "x")), origin: .flag("--collector.agent-health.timeout"),
            message: "invalid duration \"x\""),
        BadFlag(
            flags: .init(agent: .init(adminAddress: "node=unix:///")), origin: .flag("--collector.agent.admin-address"),
            message: "\"unix:///\": workload endpoint unix socket URI must include a path"),
        BadFlag(
            flags: .init(agent: .init(dataFile: "/d", interval: "2s")), origin: .flag("--collector.agent.interval"),
            message: "must be at least 5s (got 2s)"),
        BadFlag(
            flags: .init(agent: .init(dataFile: "/d", timeout: "x")), origin: .flag("--collector.agent.timeout"),
            message: "invalid duration \"x\""),
        BadFlag(
            flags: .init(agent: .init(adminAddress: "a=unix:///run/admin.sock", dataFile: "b=/d")),
            origin: .flag("--collector.agent.admin-address"),
            message: "the agent source is named twice: \"a\" and \"b\""),
        BadFlag(
            flags: .init(agent: .init(dataFile: "workload_api=/d")), origin: .flag("--collector.agent.data-file"),
            message: "source name \"workload_api\" is already used by another source"),
        BadFlag(
            flags: .init(agent: .init(enabled: true)), origin: .flag("--collector.agent"),
            message: "the agent collector needs an admin socket or a data file"),
        BadFlag(
            flags: .init(probe: .init(targets: ["api=api:0"])), origin: .flag("--probe.target"),
            message: "\"api=api:0\": port must be 1-65535"),
        BadFlag(
            flags: .init(probe: .init(targets: ["a=x:1", "a=y:2"])), origin: .flag("--probe.target"),
            message: "\"a=y:2\": target NAME used twice"),
        BadFlag(
            flags: .init(probe: .init(targets: ["api=b:1"])),
            file: "probes:\n  targets: [{name: api, address: 'a:1'}]\n",
            origin: .flag("--probe.target"), message: "\"api=b:1\": target NAME used twice"),
        BadFlag(
            flags: .init(probe: .init(interval: "500ms")), origin: .flag("--probe.interval"),
            message: "must be at least 1s (got 500ms)"),
        BadFlag(
            flags: .init(probe: .init(timeout: "0s")), origin: .flag("--probe.timeout"),
            message: "must be more than 0 and at most the probe interval"),
        BadFlag(
            flags: .init(probe: .init(timeout: "15s")), file: "probes:\n  interval: 10s\n",
            origin: .flag("--probe.timeout"),
            message: "must be more than 0 and at most the probe interval"),
        BadFlag(
            flags: .init(identities: .init(expected: ["spiffe://example.org/*,min_count=0"])),
            origin: .flag("--expect.identity"), message: "min_count must be at least 1 (got 0)"),
        BadFlag(
            flags: .init(identities: .init(expected: ["payments=spiffe://example.org/web"])),
            origin: .flag("--expect.identity"), message: "source \"payments\" is not configured"),
        BadFlag(
            flags: .init(identities: .init(expected: ["spiffe://example.org/web"])),
            file: "expected_identities:\n  - spiffe_id: spiffe://example.org/web\n",
            origin: .flag("--expect.identity"),
            message: "\"spiffe://example.org/web\" is already expected for source \"*\""),
        BadFlag(
            flags: .init(identities: .init(spiffeIDLabels: ["namespace"])), origin: .flag("--label.from-spiffe-id"),
            message: "expected NAME=REGEX, got \"namespace\""),
        BadFlag(
            flags: .init(identities: .init(spiffeIDLabels: ["le=/ns/([^/]+)"])), origin: .flag("--label.from-spiffe-id"),
            message: "label name \"le\" is one of the exporter's own labels"),
        BadFlag(
            flags: .init(identities: .init(spiffeIDLabels: ["team=/team/(["])), origin: .flag("--label.from-spiffe-id"),
            message: "\"/team/([\" is not a valid regular expression"),
        BadFlag(
            flags: .init(identities: .init(spiffeIDLabels: ["team=(a)"])),
            file: "spiffe_id_labels:\n  - {name: team, regex: '(b)'}\n", origin: .flag("--label.from-spiffe-id"),
            message: "label \"team\" is derived twice"),
        BadFlag(
            flags: .init(identities: .init(issuerBackdate: "soon")), origin: .flag("--clock.issuer-backdate"),
            message: "invalid duration \"soon\""),
        BadFlag(
            flags: .init(certFiles: .init(bundleFiles: ["bootstrap=/run/spire/bundle.crt"])), origin: .flag("--collector.bundle-file"),
            message: "expected NAME=TRUST_DOMAIN=PATH, got \"bootstrap=/run/spire/bundle.crt\""),
        BadFlag(
            flags: .init(certFiles: .init(bundleFiles: ["bootstrap=Example.org=/run/spire/bundle.crt"])),
            origin: .flag("--collector.bundle-file"), message: "invalid trust domain \"Example.org\""),
        BadFlag(
            flags: .init(certFiles: .init(directories: ["web=/run/web"], bundleFiles: ["web=example.org=/run/bundle.crt"])),
            origin: .flag("--collector.bundle-file"), message: "source name \"web\" is used twice"),
        BadFlag(
            flags: .init(federation: .init(endpoints: ["partner=partner.test"])), origin: .flag("--collector.federation.endpoint"),
            message: "expected NAME=TRUST_DOMAIN=URL[,option=value...], got \"partner=partner.test\""),
        BadFlag(
            flags: .init(federation: .init(endpoints: ["partner=partner.test=https://b.partner.test,ca=/x.pem"])),
            origin: .flag("--collector.federation.endpoint"), message: "endpoint partner: unknown option \"ca=/x.pem\""),
        BadFlag(
            flags: .init(federation: .init(endpoints: ["a=partner.test=https://b.partner.test", "a=other.test=https://b.other.test"])),
            origin: .flag("--collector.federation.endpoint"), message: "source name \"a\" is used by two federation endpoints"),
        BadFlag(
            flags: .init(agent: .init(dataFile: "/d"), federation: .init(endpoints: ["agent=partner.test=https://b.partner.test"])),
            origin: .flag("--collector.federation.endpoint"), message: "source name \"agent\" is already used by another source"),
        BadFlag(
            flags: .init(federation: .init(interval: "2h")), origin: .flag("--collector.federation.interval"),
            message: "must be between 30s and 1h (got 7200s)"),
        BadFlag(
            flags: .init(federation: .init(interval: "soon")), origin: .flag("--collector.federation.interval"),
            message: "invalid duration \"soon\""),
    ]

    @Test("a bad flag value is reported with its flag", arguments: badFlags)
    func badFlag(_ bad: BadFlag) throws {
        let found = try problems(bad.file, flags: bad.flags, environment: bad.environment)
        #expect(found.count == 1, "\(found.map(\.description))")
        #expect(found.first?.origin == bad.origin, "\(found.map(\.description))")
        #expect(found.first?.message.hasPrefix(bad.message) == true, "\(found.map(\.description))")
    }

    @Test("every problem at once, file and flags, each with its origin")
    func everyProblemAtOnce() throws {
        let file = """
            workload_api:
              - name: a
              - name: b
            probes:
              interval: 5s
              timeout: 6s
            """
        let flags = CommandLineSettings(
            web: .init(listenAddress: "x"), log: .init(level: "loud"), workloadAPI: .init(timeout: "soon"),
            certFiles: .init(directories: ["a=/a"]), agentHealth: .init(interval: "0s"))
        let found = try problems(file, flags: flags)
        #expect(
            found.map(\.origin) == [
                .file(path: "c.yml", line: 3, key: "workload_api[1].name"),
                .file(path: "c.yml", line: 6, key: "probes.timeout"), .flag("--web.listen-address"), .flag("--log.level"),
                .flag("--collector.workload-api.timeout"), .flag("--collector.cert-files.dir"),
                .flag("--collector.agent-health.interval"),
            ], "\(found.map(\.description))")
    }

    @Test("a config file that does not parse is reported alone")
    func fileProblemsFirst() throws {
        let path = Self.fixtureDirectory.appendingPathComponent("bad-log-level.yml").path
        do {
            _ = try ExporterConfiguration.load(
                configFile: path, flags: CommandLineSettings(log: .init(format: "xml")), environment: [:])
            Issue.record("expected problems")
        } catch {
            #expect(error.problems.map(\.origin) == [.file(path: path, line: 3, key: "log.level")])
        }
    }
}
