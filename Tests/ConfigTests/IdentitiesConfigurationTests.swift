import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterConfig
import SPIFFEExporterCore
import Testing

/// `expected_identities`, `spiffe_id_labels` and `clock` in the file, and their flags.
@Suite struct IdentitiesConfigurationTests {
    @Test func defaultsExpectNothingDeriveNothingAndBackdateTenSeconds() throws {
        let identities = try resolve().identities
        #expect(identities.expected.isEmpty && identities.spiffeIDLabels.isEmpty)
        #expect(identities.issuerBackdate == .seconds(10))
    }

    @Test func fileEntriesThenFlagsAndTheFlagBackdateWins() throws {
        let file = """
            expected_identities:
              - source: workload_api
                spiffe_id: spiffe://example.org/ns/prod/sa/web
              - spiffe_id: spiffe://example.org/ns/payments/**
                min_count: 3
              - spiffe_id: spiffe://example.org/ns/prod/sa/web
                kind: jwt
                audience: [db, api]
            spiffe_id_labels:
              - name: namespace
                regex: "^spiffe://[^/]+/ns/([^/]+)/"
            clock:
              issuer_backdate: 5s
            """
        let fromFile = try resolve(file).identities
        #expect(fromFile.issuerBackdate == .seconds(5))
        #expect(fromFile.expected.map(\.pattern.text) == [
            "spiffe://example.org/ns/prod/sa/web", "spiffe://example.org/ns/payments/**", "spiffe://example.org/ns/prod/sa/web",
        ])
        #expect(fromFile.expected.map(\.sourceLabel) == ["workload_api", "*", "*"])
        #expect(fromFile.expected[1].minCount == 3)
        #expect(fromFile.expected[2].kind == .jwt && fromFile.expected[2].audience == "api,db")
        #expect(fromFile.spiffeIDLabels.names == ["namespace"])

        let flags = CommandLineSettings(
            identities: .init(
                expected: ["workload_api=spiffe://example.org/ns/prod/sa/api"],
                spiffeIDLabels: ["service_account=/sa/([^/]+)$"], issuerBackdate: "0s"))
        let merged = try resolve(file, flags: flags).identities
        #expect(merged.expected.count == 4 && merged.expected.last?.pattern.text == "spiffe://example.org/ns/prod/sa/api")
        #expect(merged.spiffeIDLabels.names == ["namespace", "service_account"])
        #expect(merged.issuerBackdate == .zero)
        #expect(
            merged.spiffeIDLabels.values(for: "spiffe://example.org/ns/payments/sa/api") == ["payments", "api"])
    }

    @Test func identitiesChangeWithoutTouchingTheCollectors() throws {
        let before = try resolve()
        let after = try resolve(flags: CommandLineSettings(identities: .init(expected: ["spiffe://example.org/web"])))
        #expect(before.collectors == after.collectors && before.identities != after.identities)
    }

    @Test func expectationsMayNameDelegatedAndCertFileSources() throws {
        let flags = CommandLineSettings(
            certFiles: .init(directories: ["helper=/run/helper"]),
            delegated: .init(address: "unix:///admin.sock", subscriptions: ["payments=k8s:ns:payments"]),
            identities: .init(expected: ["helper=spiffe://example.org/a", "payments=spiffe://example.org/ns/payments/*"]))
        #expect(try resolve(flags: flags).identities.expected.map(\.sourceLabel) == ["helper", "payments"])
    }

    /// What start-up and every reload do with the identities: the store shows them that way.
    @Test func applyingSetsTheStoresLabelsExpectationsAndBackdate() async throws {
        let store = IdentityStore()
        let flags = CommandLineSettings(
            identities: .init(
                expected: ["spiffe://example.org/ns/a/sa/b"], spiffeIDLabels: ["ns=/ns/([^/]+)"], issuerBackdate: "4s"))
        let identities = try resolve(flags: flags).identities
        identities.apply(to: store, now: Date(timeIntervalSince1970: 0))
        #expect(store.spiffeIDLabels.names == ["ns"])
        #expect(!store.expectations.isEmpty)
        let statuses = store.expectations.evaluate([], sources: [], now: Date(timeIntervalSince1970: 90))
        #expect(statuses.map(\.missingSeconds) == [90] && statuses.map(\.problem) == [.neverSeen])
        // A reload without them clears both.
        try resolve().identities.apply(to: store, now: Date(timeIntervalSince1970: 100))
        #expect(store.spiffeIDLabels.isEmpty && store.expectations.isEmpty)
    }
}
