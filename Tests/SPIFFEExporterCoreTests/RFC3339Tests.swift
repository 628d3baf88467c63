import Foundation
import Testing

@testable import SPIFFEExporterCore

@Suite struct RFC3339Tests {
    @Test func knownInstants() {
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1_800_000_000)) == "2027-01-15T08:00:00Z")
        // 2024 is a leap year; 2100 is not; 2000 is.
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1_709_164_800)) == "2024-02-29T00:00:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 4_107_542_399)) == "2100-02-28T23:59:59Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -0.25), fractionalDigits: 3) == "1969-12-31T23:59:59.750Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1.999_9), fractionalDigits: 3) == "1970-01-01T00:00:01.999Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1.5), fractionalDigits: 1) == "1970-01-01T00:00:01.5Z")
    }

    @Test func outOfRangeDatesAreClamped() {
        #expect(RFC3339.string(from: .distantFuture) == "4001-01-01T00:00:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1e15)) == "9999-12-31T23:59:59Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -1e15)) == "0001-01-01T00:00:00Z")
    }

    @Test func agreesWithFoundationOverFourCenturies() {
        let foundation = ISO8601DateFormatter()
        // Every ~3.7 days from 1900 to 2300, at varying times of day.
        var t: TimeInterval = -2_208_988_800
        var checked = 0
        while t < 10_413_792_000 {
            let date = Date(timeIntervalSince1970: t)
            #expect(RFC3339.string(from: date) == foundation.string(from: date), "t = \(t)")
            t += 318_007
            checked += 1
        }
        #expect(checked > 39_000)
    }
}
