import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// `probe:`, `probe_modules:`, `--probe.allowed-target`, `--probe.max-concurrent`.
@Suite struct ProbeEndpointConfigurationTests {
    static let file = """
        probe:
          allowed_targets: ["*.internal:5432", "10.0.*:443"]
          max_concurrent: 4
        probe_modules:
          postgres:
            spiffe_id: spiffe://example.org/ns/db/sa/postgres
            starttls: postgres
            client_auth: required
            timeout: 3s
          smtp:
            starttls: smtp
            sni: mx.internal
        """

    @Test func modulesAllowListAndLimit() throws {
        let settings = try resolve(Self.file).probeEndpoint
        #expect(
            settings.modules["postgres"]
                == ProbeModule(
                    spiffeID: "spiffe://example.org/ns/db/sa/postgres", startTLS: .postgres, clientAuthRequired: true,
                    timeout: .seconds(3)))
        #expect(settings.modules["smtp"] == ProbeModule(serverName: "mx.internal", startTLS: .smtp))
        #expect(settings.allowedTargets.map(\.pattern) == ["*.internal:5432", "10.0.*:443"])
        #expect(settings.maxConcurrent == 4)
    }

    @Test func flagsAddToTheAllowListAndWinForTheLimit() throws {
        let flags = CommandLineSettings(probe: .init(allowedTargets: ["db-?:3306"], maxConcurrent: 0))
        let settings = try resolve(Self.file, flags: flags).probeEndpoint
        #expect(settings.allowedTargets.map(\.pattern) == ["*.internal:5432", "10.0.*:443", "db-?:3306"])
        #expect(settings.maxConcurrent == 0)
    }

    @Test func defaults() throws {
        let settings = try resolve("{}").probeEndpoint
        #expect(settings == ProbeEndpointSettings())
        #expect(settings.maxConcurrent == 10)
        #expect(settings.allowedTargets.isEmpty)
    }

    @Test func problemsAreLocated() throws {
        let text = """
            probe:
              allowed_targets: ["ok:1", "has space:1"]
              max_concurrent: -2
              allow_all: true
            probe_modules:
              pg:
                starttls: imap
              id:
                spiffe_id: "https://example.org/x"
              slow:
                timeout: 0s
              typo:
                clientauth: required
            """
        let lines = Self.fileProblems(text).map(\.description)
        #expect(lines.contains { $0.hasPrefix("c.yml:3: probe.max_concurrent:") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("c.yml:4: probe: unknown key \"allow_all\"") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("c.yml:7: probe_modules.pg.starttls:") && $0.contains("postgres, mysql or smtp") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("c.yml:9: probe_modules.id.spiffe_id:") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("c.yml:11: probe_modules.slow.timeout:") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("c.yml:13: probe_modules.typo: unknown key \"clientauth\"") }, "\(lines)")
        // Checked when the file is resolved with the flags.
        let glob = try problems("probe:\n  allowed_targets: [\"ok:1\", \"has space:1\"]\n").map(\.description)
        #expect(glob.contains { $0.hasPrefix("c.yml:2: probe.allowed_targets[]:") && $0.contains("has space") }, "\(glob)")
    }

    static func fileProblems(_ text: String) -> [ConfigurationProblem] {
        do {
            _ = try ConfigFileParser.parse(text, file: "c.yml")
            return []
        } catch {
            return error.problems
        }
    }
}
