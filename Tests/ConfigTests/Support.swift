import SPIFFEExporterConfig

/// Resolves an inline config file (named `c.yml`) with flags and environment.
func resolve(
    _ yaml: String? = nil, flags: CommandLineSettings = CommandLineSettings(), environment: [String: String] = [:]
) throws -> ExporterConfiguration {
    let file = try yaml.map { try ConfigFileParser.parse($0, file: "c.yml") }
    return try ExporterConfiguration.resolve(file: file, flags: flags, environment: environment)
}

/// The problems resolution reports (none when it succeeds).
func problems(
    _ yaml: String? = nil, flags: CommandLineSettings = CommandLineSettings(), environment: [String: String] = [:]
) throws -> [ConfigurationProblem] {
    let file = try yaml.map { try ConfigFileParser.parse($0, file: "c.yml") }
    do {
        _ = try ExporterConfiguration.resolve(file: file, flags: flags, environment: environment)
        return []
    } catch {
        return error.problems
    }
}
