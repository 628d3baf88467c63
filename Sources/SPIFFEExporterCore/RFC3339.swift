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
