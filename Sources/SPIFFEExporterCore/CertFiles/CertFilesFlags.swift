import Foundation

/// Parsing of the `--collector.cert-files.*` flag values into ``CertFilesSourceConfiguration``s.
/// Kept here, without I/O, so the rules are unit-tested and a config file can reuse them.
public enum CertFilesFlags {
    /// Source names become `source` label values: keep them short and unsurprising.
    public static func isValidSourceName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 128 else { return false }
        guard first.properties.isAlphabetic, first.isASCII else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "_-.".unicodeScalars.contains(scalar))
        }
    }

    /// `NAME=PATH` (`--collector.cert-files.dir`). The name ends at the first `=`.
    public static func parseNamedPath(
        _ text: String
    ) throws(CertFilesConfigurationError) -> (name: String, path: String) {
        guard let equals = text.firstIndex(of: "=") else { throw .missingName(text) }
        let name = String(text[..<equals])
        let path = String(text[text.index(after: equals)...])
        guard isValidSourceName(name) else { throw .invalidSourceName(name) }
        guard !path.isEmpty else { throw .missingName(text) }
        return (name, path)
    }

    /// `NAME=VALUE` or just `VALUE`: read as named only when what precedes the first `=` is a
    /// valid source name (so never a path, address or pattern).
    public static func optionallyNamed(_ text: String) -> (name: String?, value: String) {
        if let equals = text.firstIndex(of: "="), isValidSourceName(String(text[..<equals])) {
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
        return (nil, text)
    }

    /// `NAME=GLOB` or just `GLOB` (`--collector.cert-files.glob`). The text is read as `NAME=GLOB`
    /// only when what precedes the first `=` is a valid source name (so no `/`, `*` or `[`);
    /// otherwise the whole text is the pattern and the source is `defaultName`.
    public static func parseGlobArgument(
        _ text: String, defaultName: String = CertFilesSourceConfiguration.defaultGlobSourceName
    ) throws(CertFilesConfigurationError) -> (name: String, pattern: String) {
        let (given, pattern) = optionallyNamed(text)
        let name = given ?? defaultName
        do {
            _ = try GlobPattern(pattern)
        } catch {
            throw .invalidGlob(pattern, "\(error)")
        }
        return (name, pattern)
    }

    /// A trust domain name as a SPIFFE ID spells it (`example.org`, no scheme, no path).
    public static func isValidTrustDomain(_ name: String) -> Bool {
        !name.hasPrefix("spiffe://") && (try? SPIFFEID.trustDomain(parsing: name)) != nil
    }

    /// `NAME=TRUST_DOMAIN=PATH` (`--collector.bundle-file`): the name and the trust domain end at
    /// the first and second `=`, so the path may hold any character.
    public static func parseBundleFile(
        _ text: String
    ) throws(CertFilesConfigurationError) -> (name: String, trustDomain: String, path: String) {
        let parts = text.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[2].isEmpty else {
            throw .invalidValue("expected NAME=TRUST_DOMAIN=PATH, got \"\(text)\"")
        }
        guard isValidSourceName(parts[0]) else { throw .invalidSourceName(parts[0]) }
        guard isValidTrustDomain(parts[1]) else {
            throw .invalidValue("invalid trust domain \"\(parts[1])\" in \"\(text)\" (expected NAME=TRUST_DOMAIN=PATH)")
        }
        return (parts[0], parts[1], parts[2])
    }

    /// `[TRUST_DOMAIN=]FILE` for federated bundle files.
    public static func parseFederatedBundle(_ text: String) throws(CertFilesConfigurationError) -> FederatedBundleFile {
        if let equals = text.firstIndex(of: "=") {
            let domain = String(text[..<equals])
            let file = String(text[text.index(after: equals)...])
            guard (try? SPIFFEID(parsing: "spiffe://\(domain)")) != nil, !file.isEmpty else {
                throw .invalidValue("invalid federated bundle \"\(text)\": expected [TRUST_DOMAIN=]FILE")
            }
            return FederatedBundleFile(trustDomain: domain, fileName: file)
        }
        guard !text.isEmpty else { throw .invalidValue("empty federated bundle file name") }
        return FederatedBundleFile(fileName: text)
    }

    /// Byte sizes: `1048576`, `512KiB`, `1MiB`, `1GiB`, `500KB`, `2MB` (SI units are powers of 1000).
    public static func parseByteSize(_ text: String) throws(CertFilesConfigurationError) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        guard let number = Double(digits), number > 0 else { throw .invalidSize(text) }
        let factor: Double
        switch unit.lowercased() {
        case "", "b": factor = 1
        case "kib", "k": factor = 1024
        case "mib", "m": factor = 1024 * 1024
        case "gib", "g": factor = 1024 * 1024 * 1024
        case "kb": factor = 1000
        case "mb": factor = 1_000_000
        case "gb": factor = 1_000_000_000
        default: throw .invalidSize(text)
        }
        let bytes = (number * factor).rounded(.down)
        guard bytes >= 1, bytes < Double(Int.max) else { throw .invalidSize(text) }
        return Int(bytes)
    }

    /// Builds the sources from the repeatable flags. Globs with the same name form one source;
    /// a name may not be used by two directories, or by a directory and a glob.
    public static func makeConfigurations(
        directories: [String],
        globs: [String],
        files: SPIFFEHelperFileNames = SPIFFEHelperFileNames(),
        refreshInterval: Duration = CertFilesSourceConfiguration.defaultRefreshInterval,
        maxFileSize: Int = CertFilesSourceConfiguration.defaultMaxFileSize,
        settleDelay: Duration = CertFilesSourceConfiguration.defaultSettleDelay
    ) throws(CertFilesConfigurationError) -> [CertFilesSourceConfiguration] {
        var entries: [CertFilesEntry] = []
        for text in directories {
            let (name, path) = try parseNamedPath(text)
            entries.append(.directory(name: name, path: path))
        }
        for text in globs {
            let (name, pattern) = try parseGlobArgument(text)
            entries.append(.glob(name: name, pattern: pattern))
        }
        let grouped = configurations(
            entries, files: files, refreshInterval: refreshInterval, maxFileSize: maxFileSize, settleDelay: settleDelay)
        if let first = grouped.problems.first { throw first.error }
        return grouped.sources
    }

    /// Groups `entries` into sources, directories first: globs with the same name form one source;
    /// a name may not be used by two directories or bundle files, or by one of them and a glob. Every problem comes
    /// with the index of the entry it is about, and its source is left out.
    public static func configurations(
        _ entries: [CertFilesEntry],
        files: SPIFFEHelperFileNames = SPIFFEHelperFileNames(),
        refreshInterval: Duration = CertFilesSourceConfiguration.defaultRefreshInterval,
        maxFileSize: Int = CertFilesSourceConfiguration.defaultMaxFileSize,
        settleDelay: Duration = CertFilesSourceConfiguration.defaultSettleDelay
    ) -> (sources: [CertFilesSourceConfiguration], problems: [(entry: Int, error: CertFilesConfigurationError)]) {
        var candidates: [(entry: Int, source: CertFilesSourceConfiguration)] = []
        var problems: [(entry: Int, error: CertFilesConfigurationError)] = []
        var directoryNames: Set<String> = []
        var globSource: [String: Int] = [:]
        func source(_ name: String, _ kind: CertFilesSourceConfiguration.Kind) -> CertFilesSourceConfiguration {
            CertFilesSourceConfiguration(
                name: name, kind: kind, refreshInterval: refreshInterval, maxFileSize: maxFileSize,
                settleDelay: settleDelay)
        }
        for (index, entry) in entries.enumerated() {
            guard case .directory(let name, let path) = entry else { continue }
            guard directoryNames.insert(name).inserted else {
                problems.append((index, .duplicateSource(name)))
                continue
            }
            candidates.append((index, source(name, .spiffeHelperDirectory(path: path, files: files))))
        }
        for (index, entry) in entries.enumerated() {
            guard case .bundleFile(let name, let trustDomain, let path) = entry else { continue }
            guard directoryNames.insert(name).inserted else {
                problems.append((index, .duplicateSource(name)))
                continue
            }
            candidates.append((index, source(name, .bundleFile(path: path, trustDomain: trustDomain))))
        }
        for (index, entry) in entries.enumerated() {
            guard case .glob(let name, let pattern) = entry else { continue }
            guard !directoryNames.contains(name) else {
                problems.append((index, .duplicateSource(name)))
                continue
            }
            if let existing = globSource[name], case .glob(let patterns) = candidates[existing].source.kind {
                candidates[existing].source.kind = .glob(patterns: patterns + [pattern])
            } else {
                globSource[name] = candidates.count
                candidates.append((index, source(name, .glob(patterns: [pattern]))))
            }
        }
        var sources: [CertFilesSourceConfiguration] = []
        for (entry, source) in candidates {
            do {
                try source.validate()
                sources.append(source)
            } catch {
                problems.append((entry, error))
            }
        }
        return (sources, problems.sorted { $0.entry < $1.entry })
    }
}

/// One `--collector.cert-files.dir` or `--collector.cert-files.glob` value (or its config-file
/// equivalent), parsed.
public enum CertFilesEntry: Sendable, Hashable {
    case directory(name: String, path: String)
    case glob(name: String, pattern: String)
    /// `--collector.bundle-file NAME=TRUST_DOMAIN=PATH`.
    case bundleFile(name: String, trustDomain: String, path: String)

    /// The source the entry belongs to.
    public var name: String {
        switch self {
        case .directory(let name, _), .glob(let name, _), .bundleFile(let name, _, _): name
        }
    }
}
