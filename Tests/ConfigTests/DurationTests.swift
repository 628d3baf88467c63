import SPIFFEExporterCore
import Testing

/// Configuration durations are `Duration`s read exactly, so one value spelt two ways compares equal
/// (and a reload that only respells a duration restarts nothing).
@Suite struct DurationTests {
    @Test(arguments: [
        ("200ms", Duration.milliseconds(200)), ("0.2s", .milliseconds(200)), ("1.5s", .milliseconds(1500)),
        ("1m30s", .seconds(90)), ("2h", .seconds(7200)), ("1d", .seconds(86400)),
        ("1w", .seconds(604_800)), ("0.001ms", .microseconds(1)), (" 10s ", .seconds(10)),
    ])
    func exact(_ text: String, _ expected: Duration) throws {
        #expect(try DurationText.duration(text) == expected)
    }

    @Test(arguments: ["", "s", "10x", "-1s", "1 s", "1..5s", "99999999999999999999999999999999w"])
    func invalid(_ text: String) {
        #expect(throws: DurationText.ParseError.self) { try DurationText.duration(text) }
    }

    @Test(arguments: ["10", "90", "0.5", "1e3"])
    func aNumberWithoutAUnitIsAnErrorNamingTheUnits(_ text: String) {
        do {
            let parsed = try DurationText.duration(text)
            Issue.record("\(text) parsed as \(parsed)")
        } catch {
            #expect(error.description.contains("needs a unit, one of ms, s, m, h, d, w"), "\(error)")
        }
    }

    @Test func secondsForDoubleAPIs() {
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.seconds(600).seconds == 600)
    }
}
