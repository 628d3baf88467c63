import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// How the agent collector is configured: its channels, its name, its defaults.
@Suite struct AgentConfigurationTests {
    typealias Agent = ExporterConfiguration.Agent

    @Test func offWithoutAnAdminSocketOrDataFile() throws {
        #expect(try resolve().collectors.agent == nil)
    }

    @Test func theDelegatedAdminSocketIsTheDefault() throws {
        let flags = CommandLineSettings(
            delegated: .init(address: "unix:///run/spire/admin.sock", subscriptions: ["api=k8s:ns:a"]))
        #expect(
            try resolve(flags: flags).collectors.agent
                == Agent(adminAddress: .unix(path: "/run/spire/admin.sock"), dataFile: nil))
        var off = flags
        off.agent.enabled = false
        #expect(try resolve(flags: off).collectors.agent == nil)
        // The file's delegated address counts too.
        let file = """
            delegated:
              address: unix:///run/spire/admin.sock
              subscriptions: [{name: api, selectors: ["k8s:ns:a"]}]
            """
        #expect(try resolve(file).collectors.agent?.adminAddress == .unix(path: "/run/spire/admin.sock"))
    }

    @Test func namedFlagsAndTheirDefaults() throws {
        let flags = CommandLineSettings(
            agent: .init(adminAddress: "node1=unix:///run/admin.sock", dataFile: "/var/lib/spire/agent", interval: "1m"))
        let agent = try #require(try resolve(flags: flags).collectors.agent)
        #expect(agent.name == "node1")
        #expect(agent.adminAddress == .unix(path: "/run/admin.sock"))
        #expect(agent.dataFile == "/var/lib/spire/agent")
        #expect(agent.interval == .seconds(60))
        #expect(agent.timeout == Agent.defaultTimeout)
        let plain = try #require(try resolve(flags: .init(agent: .init(dataFile: "/d/agent-data.json"))).collectors.agent)
        #expect(plain.name == "agent")
        #expect(plain.adminAddress == nil)
        #expect(plain.interval == Agent.defaultInterval)
    }

    @Test func theFileSectionAndFlagsOverIt() throws {
        let file = """
            agent:
              name: node
              admin_address: unix:///run/admin.sock
              data_file: /var/lib/spire/agent/agent-data.json
              interval: 10s
              timeout: 2s
            """
        let fromFile = try #require(try resolve(file).collectors.agent)
        #expect(
            fromFile
                == Agent(
                    name: "node", adminAddress: .unix(path: "/run/admin.sock"),
                    dataFile: "/var/lib/spire/agent/agent-data.json", interval: .seconds(10), timeout: .seconds(2)))
        let flags = CommandLineSettings(agent: .init(adminAddress: "unix:///other.sock", interval: "20s"))
        let merged = try #require(try resolve(file, flags: flags).collectors.agent)
        #expect(merged.name == "node")
        #expect(merged.adminAddress == .unix(path: "/other.sock"))
        #expect(merged.interval == .seconds(20))
        #expect(try resolve(file + "\n  enabled: false").collectors.agent == nil)
    }

    @Test func theAgentIsASourceOfThePlan() throws {
        let flags = CommandLineSettings(agent: .init(dataFile: "/d"))
        #expect(try resolve(flags: flags).collectors.sources.contains("agent"))
    }
}
