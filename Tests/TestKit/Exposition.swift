import Foundation

/// One parsed sample line of the Prometheus text format.
public struct ScrapedSample: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    public var value: Double
}

public struct ExpositionParseError: Error, CustomStringConvertible {
    public var line: String
    public var description: String { "cannot parse exposition line: \(line)" }
}

/// A parsed text-format scrape (label values unescaped) with lookups by name and label subset.
public struct Scrape: Sendable {
    public let text: String
    public let samples: [ScrapedSample]

    public init(text: String) {
        self.text = text
        self.samples = text.split(separator: "\n").compactMap { try? Self.parse(line: $0) }
    }

    /// The samples named `name` whose labels include `labels`.
    public func samples(_ name: String, _ labels: [String: String] = [:]) -> [ScrapedSample] {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    /// The value of the single series matching `name` and `labels`, or nil if there is none (or several).
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples(name, labels)
        return matching.count == 1 ? matching[0].value : nil
    }

    /// Whether any sample is named `name`.
    public func has(_ name: String) -> Bool { samples.contains { $0.name == name } }

    /// One line: nil for comments and blank lines, an error for a line that is not a valid sample.
    public static func parse(line: Substring) throws -> ScrapedSample? {
        if line.hasPrefix("#") || line.isEmpty { return nil }
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " { index = line.index(after: index) }
        let name = String(line[line.startIndex..<index])
        var labels: [String: String] = [:]
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while index < line.endIndex, line[index] != "}" {
                guard let equals = line[index...].firstIndex(of: "=") else {
                    throw ExpositionParseError(line: String(line))
                }
                let labelName = String(line[index..<equals])
                index = line.index(after: equals)
                guard index < line.endIndex, line[index] == "\"" else { throw ExpositionParseError(line: String(line)) }
                index = line.index(after: index)
                var value = ""
                while index < line.endIndex, line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        guard index < line.endIndex else { throw ExpositionParseError(line: String(line)) }
                        switch line[index] {
                        case "n": value.append("\n")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: throw ExpositionParseError(line: String(line))
                        }
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                guard index < line.endIndex else { throw ExpositionParseError(line: String(line)) }
                index = line.index(after: index)  // closing quote
                labels[labelName] = value
                if index < line.endIndex, line[index] == "," { index = line.index(after: index) }
            }
            guard index < line.endIndex else { throw ExpositionParseError(line: String(line)) }
            index = line.index(after: index)  // closing brace
        }
        let rest = line[index...].trimmingCharacters(in: .whitespaces)
        let valueText = rest.split(separator: " ").first.map(String.init) ?? ""
        guard let value = Double(valueText) else { throw ExpositionParseError(line: String(line)) }
        return ScrapedSample(name: name, labels: labels, value: value)
    }
}
