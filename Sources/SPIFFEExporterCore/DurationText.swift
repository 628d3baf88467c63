/// Prometheus-style durations: `10s`, `500ms`, `1m30s`, `2h`, `1d`; a bare number means seconds.
public enum DurationText {
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var text: String
        public var description: String { "invalid duration \"\(text)\" (examples: 500ms, 10s, 1m30s, 2h)" }
    }

    public static func seconds(_ text: String) throws(ParseError) -> Double {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ParseError(text: text) }
        if let plain = Double(trimmed), plain >= 0, plain.isFinite { return plain }
        var total = 0.0
        var number = ""
        var unit = ""
        func flush() throws(ParseError) {
            guard let value = Double(number), value >= 0 else { throw ParseError(text: text) }
            let factor: Double
            switch unit {
            case "ms": factor = 0.001
            case "s": factor = 1
            case "m": factor = 60
            case "h": factor = 3600
            case "d": factor = 86400
            case "w": factor = 604800
            default: throw ParseError(text: text)
            }
            total += value * factor
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
        return total
    }
}

extension String {
    func trimmingWhitespace() -> String { Substring(self).trimmingWhitespace() }
}
