import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// `--collector.envoy.*` and the config file's `envoy:` section.
@Suite struct EnvoyConfigurationTests {
    typealias Envoy = ExporterConfiguration.Envoy

    @Test func offByDefault() throws {
        let envoy = try resolve().collectors.envoy
        #expect(envoy == Envoy())
        #expect(envoy.admins.isEmpty)
    }

    @Test func flagsNameEachAdmin() throws {
        let flags = CommandLineSettings(
            envoy: .init(admins: ["edge=http://127.0.0.1:9901", "mesh.v6=http://[::1]:15000/envoy/"], interval: "10s", timeout: "2s"))
        let configuration = try resolve(flags: flags)
        let envoy = configuration.collectors.envoy
        #expect(
            envoy.admins == [
                Envoy.Admin(name: "edge", endpoint: EnvoyAdminEndpoint(host: "127.0.0.1", port: 9901)),
                Envoy.Admin(name: "mesh.v6", endpoint: EnvoyAdminEndpoint(host: "::1", port: 15000, pathPrefix: "/envoy")),
            ])
        #expect(envoy.interval == .seconds(10))
        #expect(envoy.timeout == .seconds(2))
        #expect(envoy.admins[1].endpoint.certsPath == "/envoy/certs")
        #expect(envoy.admins[1].endpoint.description == "http://[::1]:15000/envoy")
        // Each admin is a source of its own: a reload that drops it removes its series.
        #expect(configuration.collectors.sources.isSuperset(of: ["edge", "mesh.v6"]))
    }

    @Test func theFileSectionThenTheFlags() throws {
        let file = """
            envoy:
              interval: 1m
              timeout: 3s
              admins:
                - name: ingress
                  admin: http://envoy.internal:9901
            """
        let fromFile = try resolve(file).collectors.envoy
        #expect(
            fromFile
                == Envoy(
                    admins: [Envoy.Admin(name: "ingress", endpoint: EnvoyAdminEndpoint(host: "envoy.internal", port: 9901))],
                    interval: .seconds(60), timeout: .seconds(3)))
        let both = try resolve(
            file, flags: .init(envoy: .init(admins: ["egress=http://127.0.0.1:9902"], interval: "20s"))
        ).collectors.envoy
        #expect(both.admins.map(\.name) == ["ingress", "egress"])
        #expect(both.interval == .seconds(20))
        #expect(both.timeout == .seconds(3))
    }

    @Test func theDefaultTimeoutFitsAShortInterval() throws {
        let envoy = try resolve(flags: .init(envoy: .init(admins: ["e=http://127.0.0.1:9901"], interval: "2s"))).collectors.envoy
        #expect(envoy.timeout == .seconds(2))
        #expect(try resolve(flags: .init(envoy: .init(admins: ["e=http://127.0.0.1:9901"]))).collectors.envoy.timeout == .seconds(5))
    }

    @Test func theCollectorRunsWithThePlan() throws {
        let configuration = try resolve(flags: .init(envoy: .init(admins: ["edge=http://127.0.0.1:9901"])))
        let store = IdentityStore()
        let context = CollectorContext(
            store: store, board: SourceBoard(events: store.events), registry: MetricsRegistry(),
            connections: AgentConnections(), logger: .init(label: "test"))
        let plan = configuration.collectors.plan(context: context)
        #expect(plan.services.contains { $0 is EnvoyCollector<ContinuousClock> })
        #expect(plan.contributors.contains { ($0 as? EnvoyCertsContributor)?.source == "edge" })
        #expect(context.board.health("edge")?.kind == .envoy)
        #expect(context.registry.value(MetricCatalog.envoyFailures, ["edge", "malformed"]) == 0)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var flags: CommandLineSettings
        var origin: Origin
        var message: String
        var testDescription: String { "\(origin): \(message)" }
    }

    static let badFlags: [Bad] = [
        Bad(
            flags: .init(envoy: .init(admins: ["http://127.0.0.1:9901"])), origin: .flag("--collector.envoy.admin"),
            message: "expected NAME=http://HOST:PORT with a name of letters, digits, '_', '-', '.', got \"http://127.0.0.1:9901\""),
        Bad(
            flags: .init(envoy: .init(admins: ["e=https://127.0.0.1:9901"])), origin: .flag("--collector.envoy.admin"),
            message: "\"https://127.0.0.1:9901\": Envoy's admin listener speaks plain HTTP; use http://"),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://127.0.0.1:0"])), origin: .flag("--collector.envoy.admin"),
            message: "\"http://127.0.0.1:0\": the port must be 1 to 65535"),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://user:pw@127.0.0.1:9901"])), origin: .flag("--collector.envoy.admin"),
            message: "\"http://user:pw@127.0.0.1:9901\": no user info in the admin URL"),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://127.0.0.1:9901/certs?format=json"])),
            origin: .flag("--collector.envoy.admin"),
            message: "\"http://127.0.0.1:9901/certs?format=json\": no query or fragment, the exporter asks for /certs itself"),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://[::1:9901"])), origin: .flag("--collector.envoy.admin"),
            message: "\"http://[::1:9901\": unclosed ["),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://exa mple:9901"])), origin: .flag("--collector.envoy.admin"),
            message: "\"http://exa mple:9901\": \"exa mple\" is no host name or IPv4 address"),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://127.0.0.1:9901", "e=http://127.0.0.1:9902"])),
            origin: .flag("--collector.envoy.admin"), message: "source name \"e\" is used twice"),
        Bad(
            flags: .init(envoy: .init(admins: ["workload_api=http://127.0.0.1:9901"])),
            origin: .flag("--collector.envoy.admin"), message: "source name \"workload_api\" is already used by another source"),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://127.0.0.1:9901"], interval: "500ms")),
            origin: .flag("--collector.envoy.interval"), message: "must be at least 1s (got 500ms)"),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://127.0.0.1:9901"], interval: "5s", timeout: "10s")),
            origin: .flag("--collector.envoy.timeout"), message: "must be more than 0 and at most the Envoy interval"),
        Bad(
            flags: .init(envoy: .init(admins: ["e=http://127.0.0.1:9901"], timeout: "soon")),
            origin: .flag("--collector.envoy.timeout"),
            message: "invalid duration \"soon\" (units: ms, s, m, h, d, w; examples: 500ms, 10s, 1m30s, 2h)"),
    ]

    @Test(arguments: badFlags) func aBadFlagIsAProblem(_ bad: Bad) throws {
        let found = try problems(flags: bad.flags)
        #expect(found == [ConfigurationProblem(bad.origin, bad.message)], "\(found.map(\.description))")
    }

    @Test func badFileEntriesAreProblemsAtTheirLines() throws {
        let file = """
            envoy:
              timeout: 2s
              admins:
                - name: a
                  admin: https://127.0.0.1:9901
                - name: a
                  admin: http://127.0.0.1:9902
                - admin: http://127.0.0.1:9903
                - name: b
                  admin: http://127.0.0.1:9904
                  tls: true
            """
        do {
            _ = try ConfigFileParser.parse(file, file: "c.yml")
            Issue.record("parsed")
        } catch {
            let texts = error.problems.map(\.description)
            #expect(
                texts == [
                    "c.yml:5: envoy.admins[0].admin: \"https://127.0.0.1:9901\": Envoy's admin listener speaks plain HTTP; use http://",
                    "c.yml:6: envoy.admins[1].name: source name \"a\" is used twice",
                    "c.yml:8: envoy.admins[2]: needs name and admin",
                    "c.yml:11: envoy.admins[3]: unknown key \"tls\" (allowed: admin, name)",
                ], "\(texts)")
        }
        do {
            _ = try ConfigFileParser.parse("envoy:\n  interval: 10s\n", file: "c.yml")
            Issue.record("parsed")
        } catch {
            #expect(error.problems.map(\.description) == ["c.yml:2: envoy: needs admins: a list of {name, admin}"])
        }
    }
}
