import Foundation
import SPIFFEExporterCore
import Testing

/// Keeps the public contract in one piece: the metric catalog, docs/metrics.md, alerts/ (rules,
/// recording rules, promtool tests), dashboards/ and docs/runbooks.md must agree.
@Suite struct ContractConsistencyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func read(_ relative: String) throws -> String {
        try String(contentsOf: Self.repository.appendingPathComponent(relative), encoding: .utf8)
    }

    func files(in folder: String, suffixes: [String]) -> [String] {
        let base = Self.repository.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { path in suffixes.contains { path.hasSuffix($0) } }
            .map { folder + "/" + $0 }.sorted()
    }

    /// Identifier-like tokens (`a-z`, digits, `_`, `:`), as PromQL metric names are spelled.
    func tokens(_ text: String) -> Set<String> {
        var result: Set<String> = []
        var current = ""
        for ch in text.unicodeScalars {
            if CharacterSet.alphanumerics.contains(ch) && ch.isASCII || ch == "_" || ch == ":" {
                current.unicodeScalars.append(ch)
            } else {
                if !current.isEmpty { result.insert(current) }
                current = ""
            }
        }
        if !current.isEmpty { result.insert(current) }
        return result
    }

    /// Tokens that look like metric names; label names and reason values that share the prefix
    /// (`spiffe_id`, `spiffe_id_mismatch`) are not.
    func isExporterMetricName(_ token: String) -> Bool {
        // `spiffe_id_labels` is the config file key of the labels derived from the SPIFFE ID.
        // `spiffe_sequence` and `spiffe_refresh_hint` are members of a SPIFFE bundle (JWK Set).
        let notMetrics = Set(
            ["spiffe_id", "spiffe_id_labels", "spiffe_sequence", "spiffe_refresh_hint"] + SVIDProblem.allCases.map(\.rawValue))
        // A trailing underscore is a prefix in prose (`spiffe_workload_api_*`), not a name.
        return (token.hasPrefix("spiffe_") || token.hasPrefix("process_")) && !notMetrics.contains(token)
            && !token.hasSuffix("_")
    }

    /// `level:metric:operation` recording rule names.
    func isRecordingRuleName(_ token: String) -> Bool {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty } && parts[1].hasPrefix("spiffe_")
    }

    @Test func docsListEveryMetricAndReason() throws {
        let doc = try read("docs/metrics.md")
        for descriptor in MetricCatalog.all {
            #expect(doc.contains("`\(descriptor.name)`"), "docs/metrics.md does not document \(descriptor.name)")
        }
        for reason in SVIDProblem.allCases {
            #expect(doc.contains("| `\(reason.rawValue)` |"), "docs/metrics.md lacks problem reason \(reason.rawValue)")
        }
        for reason in JWTSVIDProblem.allCases where !SVIDProblem.allCases.map(\.rawValue).contains(reason.rawValue) {
            #expect(doc.contains("| `\(reason.rawValue)` |"), "docs/metrics.md lacks JWT problem reason \(reason.rawValue)")
        }
        for outcome in RenewalOutcome.allCases {
            #expect(doc.contains("| `\(outcome.rawValue)` |"), "docs/metrics.md lacks outcome \(outcome.rawValue)")
        }
        for reason in ConnectionFailureReason.allCases {
            #expect(doc.contains("| `\(reason.rawValue)` |"), "docs/metrics.md lacks failure reason \(reason.rawValue)")
        }
        let agent = try #require(doc.range(of: "### `spiffe_agent_failures_total` reasons")).upperBound
        for reason in AgentFailureReason.allCases {
            #expect(doc[agent...].contains("| `\(reason.rawValue)` |"), "docs/metrics.md lacks agent failure reason \(reason.rawValue)")
        }
        let envoy = try #require(doc.range(of: "### `spiffe_envoy_failures_total` reasons")).upperBound
        for reason in EnvoyFailureReason.allCases {
            #expect(doc[envoy...].contains("| `\(reason.rawValue)` |"), "docs/metrics.md lacks Envoy failure reason \(reason.rawValue)")
        }
        for kind in OutageBudget.Limit.Kind.allCases {
            #expect(doc.contains("| `\(kind.rawValue)` |"), "docs/metrics.md lacks outage budget kind \(kind.rawValue)")
        }
        let federation = try #require(doc.range(of: "### `spiffe_federation_bundle_failures_total` reasons")).upperBound
        for reason in FederationBundleFailureReason.allCases {
            #expect(
                doc[federation...].contains("| `\(reason.rawValue)` |"),
                "docs/metrics.md lacks federation failure reason \(reason.rawValue)")
        }
        for reason in ExpectedIdentityProblem.allCases {
            #expect(doc.contains("| `\(reason.rawValue)` |"), "docs/metrics.md lacks expected identity reason \(reason.rawValue)")
        }
        // And nothing documented that the catalog does not have.
        let known = MetricCatalog.allSeriesNames
        for token in tokens(doc) where isExporterMetricName(token) && !token.contains(":") {
            #expect(known.contains(token), "docs/metrics.md mentions unknown metric \(token)")
        }
    }

    @Test func metricNamesFollowPrometheusConventions() {
        for d in MetricCatalog.all {
            #expect(d.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(d.name)")
            #expect((d.type == .counter) == d.name.hasSuffix("_total"), "\(d.name): counters and only counters end in _total")
            #expect(!d.help.isEmpty)
            let allowed: Set<String> = [
                "source", "spiffe_id", "trust_domain", "audience", "rpc", "code", "reason", "outcome", "target",
                "version", "revision",
                // Per-CA expiry (a subject key identifier) and file paths of glob sources, both
                // bounded by configuration; the globs of expected identities, likewise.
                "ca", "path", "result", "pattern",
                // Closed vocabularies: agent cache type, what sets the outage budget.
                "type", "kind",
                // The negotiated TLS cipher suite: one of the few the probe's client offers.
                "cipher",
            ]
            #expect(Set(d.labels).isSubset(of: allowed), "\(d.name) uses a label outside the vocabulary")
        }
        #expect(Set(MetricCatalog.all.map(\.name)).count == MetricCatalog.all.count)
    }

    /// The labels derived from the SPIFFE ID go on exactly the families with a `spiffe_id` label,
    /// can never take a name the catalog uses, and are documented with those families.
    @Test func derivedLabelsAreKnownToTheCatalogAndDocumented() throws {
        #expect(MetricCatalog.labelVocabulary.isSubset(of: SPIFFEIDLabels.reservedNames))
        let labels = try SPIFFEIDLabels([try .init(name: "team", pattern: "/ns/([^/]+)")])
        for family in MetricCatalog.all {
            let wide = labels.widen(family).labels
            if family.labels.contains("spiffe_id") {
                #expect(wide.count == family.labels.count + 1 && wide.contains("team"), "\(family.name)")
                #expect(MetricCatalog.spiffeIDLabelledFamilies.contains(family))
            } else {
                #expect(wide == family.labels, "\(family.name)")
            }
        }
        let doc = try read("docs/metrics.md")
        #expect(doc.contains("### Labels derived from the SPIFFE ID") && doc.contains("**Cardinality.**"))
        #expect(doc.contains("--label.from-spiffe-id NAME=REGEX") && doc.contains("`spiffe_id_labels`"))
        // The promtool tests that run the rules on series with derived labels exist.
        #expect(try read("alerts/tests/spiffe-id-labels.test.yml").contains("namespace=\"payments\""))
    }
    /// The rule files are rendered from mixin/ with quoted scalars (`alert: "Name"`).
    static let yamlScalarPadding = CharacterSet.whitespaces.union(CharacterSet(charactersIn: "\""))

    @Test func alertsAndDashboardsUseOnlyCatalogMetrics() throws {
        let known = MetricCatalog.allSeriesNames
        let recording = try read("alerts/spiffe-exporter.recording.yml")
        var recorded: Set<String> = []
        for line in recording.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("- record:") || trimmed.hasPrefix("record:") {
                recorded.insert(trimmed.components(separatedBy: "record:")[1].trimmingCharacters(in: Self.yamlScalarPadding))
            }
        }
        let sources = files(in: "alerts", suffixes: [".yml", ".yaml"]) + files(in: "dashboards", suffixes: [".json"])
        #expect(sources.contains("alerts/spiffe-exporter.rules.yml"))
        #expect(sources.contains("dashboards/spiffe-overview.json"))
        #expect(sources.contains("dashboards/spiffe-workload.json"))
        for file in sources where !file.hasPrefix("alerts/tests/") {
            for token in tokens(try read(file)) {
                if isRecordingRuleName(token) {
                    #expect(recorded.contains(token), "\(file) uses recording rule \(token) that is not defined")
                } else if !token.contains(":") && isExporterMetricName(token) {
                    #expect(known.contains(token), "\(file) uses \(token), which the exporter does not emit")
                }
            }
        }
    }

    @Test func everyAlertHasARunbookSection() throws {
        let rules = try read("alerts/spiffe-exporter.rules.yml")
        let runbooks = try read("docs/runbooks.md")
        let headings = Set(runbooks.split(separator: "\n").filter { $0.hasPrefix("## ") }.map { String($0.dropFirst(3)).trimmingCharacters(in: .whitespaces) })
        var alerts: [String] = []
        for line in rules.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("- alert:") {
                alerts.append(trimmed.dropFirst("- alert:".count).trimmingCharacters(in: Self.yamlScalarPadding))
            }
        }
        #expect(!alerts.isEmpty)
        for alert in alerts {
            #expect(headings.contains(alert), "docs/runbooks.md has no '## \(alert)' section")
            #expect(rules.contains("#\(alert.lowercased())"), "\(alert) has no runbook_url anchor")
        }
    }

    @Test func readmeTellsANewUserWhatToExpect() throws {
        let readme = try read("README.md")
        // The Swift version the README asks for is the one Package.swift needs.
        let manifest = try read("Package.swift")
        let tools = try #require(manifest.split(separator: "\n").first?.split(separator: ":").last)
        #expect(readme.contains("Swift \(tools) or newer"), "Package.swift needs \(tools)")
        #expect(readme.contains("takes several minutes"))
        // The two set-up commands, exactly.
        #expect(readme.contains("```sh\nswift run spiffe-exporter demo\n```"))
        #expect(readme.contains("```sh\nbash .ci/run\n```"))
        // What the demo runs: its six sources, the probed TLS server, JWT-SVIDs; where it listens.
        for name in ["workload_api", "spiffe_helper", "demo_files", "payments", "checkout", "exporter_process"] {
            #expect(readme.contains("`\(name)`"), "README does not name the demo source \(name)")
        }
        #expect(readme.contains("six sources") && readme.contains("`demo_backend`") && readme.contains("JWT-SVIDs"))
        #expect(readme.contains("`127.0.0.1:9841`"))
        // Flags are the serve subcommand's: the root --help only lists subcommands.
        #expect(readme.contains("All flags: `spiffe-exporter serve --help`"))
    }
}
