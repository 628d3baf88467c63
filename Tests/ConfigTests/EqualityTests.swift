import SPIFFEExporterConfig
import Testing

/// A reload restarts the collectors when `collectors` differ: equality is about what is configured,
/// not where in the file it is written.
@Suite struct EqualityTests {
    static let file = """
        workload_api:
          - name: agent_a
            address: unix:///run/spire/a.sock
            timeout: 5s
            jwt_audiences: ["db,cache"]
        cert_files:
          directories: [{name: helper, path: /run/helper}]
        probes:
          targets: [{name: api, address: "api.internal:8443"}]
        """

    @Test func sameFileTwiceIsEqual() throws {
        #expect(try resolve(Self.file) == resolve(Self.file))
    }

    @Test func movedLinesAreEqual() throws {
        let moved = "# a comment moves every line down\n\n" + Self.file
        #expect(try resolve(moved) == resolve(Self.file))
    }

    @Test func sameValueWrittenDifferentlyIsEqual() throws {
        let respelled = Self.file
            .replacingOccurrences(of: "timeout: 5s", with: "timeout: 5000ms")
            .replacingOccurrences(of: "[\"db,cache\"]", with: "[[cache, db]]")
        #expect(try resolve(respelled).collectors == resolve(Self.file).collectors)
        // A flag saying what the file says changes nothing either.
        let flags = CommandLineSettings(workloadAPI: .init(timeout: "5s"))
        #expect(try resolve(Self.file, flags: flags) == resolve(Self.file))
    }

    @Test func changedTimeoutIsNotEqual() throws {
        let changed = Self.file.replacingOccurrences(of: "timeout: 5s", with: "timeout: 6s")
        #expect(try resolve(changed).collectors != resolve(Self.file).collectors)
    }

    @Test(arguments: [
        ("address: unix:///run/spire/a.sock", "address: unix:///run/spire/b.sock"),
        ("name: agent_a", "name: agent_b"),
        ("path: /run/helper", "path: /run/other"),
        ("api.internal:8443", "api.internal:9443"),
    ])
    func changedSourceIsNotEqual(_ before: String, _ after: String) throws {
        let changed = Self.file.replacingOccurrences(of: before, with: after)
        #expect(try resolve(changed).collectors != resolve(Self.file).collectors)
    }

    @Test func webAndLogChangesLeaveTheCollectorsEqual() throws {
        let changed = Self.file + "\nweb:\n  listen_address: ':9999'\nlog:\n  level: debug\n"
        let (before, after) = (try resolve(Self.file), try resolve(changed))
        #expect(after != before)
        #expect(after.collectors == before.collectors)
        #expect(after.web != before.web && after.log != before.log)
    }
}
