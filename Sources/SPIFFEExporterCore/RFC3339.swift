import Foundation

/// UTC timestamps as RFC 3339 text (`2026-11-24T21:30:05.123Z`) by plain arithmetic.
/// Foundation's `ISO8601DateFormatter` on Linux builds an ICU calendar, time zone and date format
/// per instance, which pulls ~5 MB of ICU data into every process that logs one line.
public enum RFC3339 {
    /// `fractionalDigits` 0 gives whole seconds; up to 9. Digits are truncated, never rounded up,
    /// so a timestamp never reads later than the instant it stands for.
    public static func string(from date: Date, fractionalDigits: Int = 0) -> String {
        let digits = min(max(fractionalDigits, 0), 9)
        let interval = date.timeIntervalSince1970
        var seconds = interval.rounded(.down)
        // Beyond what a calendar date needs (and what Int64 arithmetic below keeps exact).
        seconds = min(max(seconds, -62_135_596_800), 253_402_300_799)
        let whole = Int64(seconds)
        var days = whole / 86_400
        var secondOfDay = whole % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        var out = ""
        out.reserveCapacity(20 + digits + 1)
        append(year, width: 4, to: &out)
        out += "-"
        append(month, width: 2, to: &out)
        out += "-"
        append(day, width: 2, to: &out)
        out += "T"
        append(secondOfDay / 3600, width: 2, to: &out)
        out += ":"
        append(secondOfDay / 60 % 60, width: 2, to: &out)
        out += ":"
        append(secondOfDay % 60, width: 2, to: &out)
        if digits > 0 {
            let fraction = max(0, min(interval - seconds, 0.999_999_999))
            var scale: Int64 = 1
            for _ in 0..<digits { scale *= 10 }
            out += "."
            append(min(Int64((fraction * Double(scale)).rounded(.down)), scale - 1), width: digits, to: &out)
        }
        out += "Z"
        return out
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `civil_from_days`).
    static func civil(fromDays z: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func append(_ value: Int64, width: Int, to out: inout String) {
        let text = String(value)
        if text.count < width { out += String(repeating: "0", count: width - text.count) }
        out += text
    }
}

extension RFC3339 {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (protobuf's Timestamp JSON, as Envoy's
    /// admin API writes it); `nil` for anything else, out-of-range fields included, so hostile
    /// text never becomes a date. Years 0001–9999 only: no certificate time lies outside.
    public static func date(from text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 40 else { return nil }
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + width] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            index += width
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        guard year >= 1, (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24,
            minute < 60, second < 61
        else { return nil }
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            var value: Int64 = 0
            var scale: Int64 = 1
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                value = value * 10 + Int64(bytes[index] - 0x30)
                scale *= 10
                digits += 1
                index += 1
                // Nanoseconds at most, as protobuf's Timestamp.
                guard digits <= 9 else { return nil }
            }
            guard digits > 0 else { return nil }
            fraction = Double(value) / Double(scale)
        }
        var offset: Int64 = 0
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
            index += 1
        } else {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard expect("+-"), let hours = number(2), expect(":"), let minutes = number(2), hours < 24, minutes < 60
            else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard index == bytes.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// A proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
