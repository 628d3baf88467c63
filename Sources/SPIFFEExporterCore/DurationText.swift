/// Prometheus-style durations: `10s`, `500ms`, `1m30s`, `2h`, `1d`. A number needs its unit: a
/// bare `10` is an error, not ten seconds (or ten minutes, as an operator may have meant).
public enum DurationText {
    public static let units = "ms, s, m, h, d, w"

    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var text: String
        public var description: String {
            let trimmed = text.trimmingWhitespace()
            if !trimmed.isEmpty, Double(trimmed) != nil {
                return "invalid duration \"\(text)\": a number needs a unit, one of \(DurationText.units) (e.g. \(trimmed)s)"
            }
            return "invalid duration \"\(text)\" (units: \(DurationText.units); examples: 500ms, 10s, 1m30s, 2h)"
        }
    }

    static let attosecondsPerSecond: Int128 = 1_000_000_000_000_000_000

    /// The duration `text` names, exact to the attosecond for decimal numbers (`200ms` is
    /// `.milliseconds(200)`, so a configuration read twice compares equal).
    public static func duration(_ text: String) throws(ParseError) -> Duration {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ParseError(text: text) }
        var total: Int128 = 0
        var number = ""
        var unit = ""
        func flush() throws(ParseError) {
            let factor: Int128
            switch unit {
            case "ms": factor = attosecondsPerSecond / 1000
            case "s": factor = attosecondsPerSecond
            case "m": factor = 60 * attosecondsPerSecond
            case "h": factor = 3600 * attosecondsPerSecond
            case "d": factor = 86400 * attosecondsPerSecond
            case "w": factor = 604800 * attosecondsPerSecond
            default: throw ParseError(text: text)
            }
            guard let value = attoseconds(Substring(number), unit: factor) else { throw ParseError(text: text) }
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { throw ParseError(text: text) }
            total = sum
            number = ""
            unit = ""
        }
        for ch in trimmed {
            if ch.isASCIIDigit || ch == "." {
                if !unit.isEmpty { try flush() }
                number.append(ch)
            } else if ch.isLetter {
                guard !number.isEmpty else { throw ParseError(text: text) }
                unit.append(ch)
            } else {
                throw ParseError(text: text)
            }
        }
        guard !number.isEmpty, !unit.isEmpty else { throw ParseError(text: text) }
        try flush()
        return try duration(attoseconds: total, text: text)
    }

    static func duration(attoseconds: Int128, text: String) throws(ParseError) -> Duration {
        let (seconds, fraction) = attoseconds.quotientAndRemainder(dividingBy: attosecondsPerSecond)
        guard let whole = Int64(exactly: seconds) else { throw ParseError(text: text) }
        return Duration(secondsComponent: whole, attosecondsComponent: Int64(fraction))
    }

    public static func seconds(_ text: String) throws(ParseError) -> Double {
        try duration(text).seconds
    }

    /// `number` (digits with at most one `.`) times `unit` attoseconds; nil when it is not such a
    /// number or does not fit. Digits below an attosecond are dropped.
    static func attoseconds(_ number: Substring, unit: Int128) -> Int128? {
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integerDigits = parts[0]
        let fractionDigits = parts.count > 1 ? parts[1] : ""
        guard !(integerDigits.isEmpty && fractionDigits.isEmpty),
            (integerDigits + fractionDigits).allSatisfy(\.isASCIIDigit), integerDigits.count <= 30
        else { return nil }
        let (whole, overflow) = (Int128(integerDigits) ?? 0).multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        var fraction: Int128 = 0
        var scale = unit
        for digit in fractionDigits.prefix(18) {
            scale /= 10
            fraction += Int128(digit.wholeNumberValue ?? 0) * scale
        }
        return whole + fraction
    }
}

extension String {
    func trimmingWhitespace() -> String { Substring(self).trimmingWhitespace() }
}
