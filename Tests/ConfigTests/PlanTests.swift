import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// The collectors a configuration plans (built, not started).
@Suite struct PlanTests {
    let context = CollectorContext(
        store: IdentityStore(), board: SourceBoard(), registry: MetricsRegistry(), connections: AgentConnections(),
        logger: Logger(label: "plan-test") { _ in SwiftLogNoOpLogHandler() })

    @Test func everyKindOfCollector() throws {
        let file = """
            workload_api:
              - {name: agent_a, address: "unix:///a.sock"}
              - {name: agent_b, address: "unix:///b.sock"}
            cert_files:
              directories: [{name: helper, path: /run/helper}]
              globs: [{name: tls, pattern: "/etc/tls/*.pem"}]
            delegated:
              address: unix:///admin.sock
              subscriptions: [{name: payments, selectors: ["k8s:ns:payments"]}]
            probes:
              targets: [{name: api, address: "api.internal:8443"}]
            """
        let plan = try resolve(file).collectors.plan(context: context)
        // 2 Workload API sources + cert files + 2 agent health checks + the agent (on the delegated
        // admin socket) + delegated + probe.
        #expect(plan.services.count == 8)
        #expect(plan.contributors.count == 2)
        #expect(plan.sources == ["agent_a", "agent_b", "helper", "tls", "payments", "agent"])
        #expect(plan.targets == ["api"])
    }

    @Test func agentHealthFollowsTheWorkloadAPISources() throws {
        let on = try resolve().collectors.plan(context: context)
        #expect(on.services.count == 2)
        let off = try resolve(flags: CommandLineSettings(agentHealth: .init(enabled: false)))
            .collectors.plan(context: context)
        #expect(off.services.count == 1)
        let none = try resolve(flags: CommandLineSettings(workloadAPI: .init(enabled: false)))
            .collectors.plan(context: context)
        #expect(none.services.isEmpty && none.sources.isEmpty)
    }

    @Test func sourcesOfOnePlanOnly() throws {
        _ = try resolve("workload_api: [{name: old}]").collectors.plan(context: context)
        let next = try resolve("workload_api: [{name: new}]").collectors.plan(context: context)
        #expect(next.sources.contains("new") && !next.sources.contains("old"))
    }
}
