import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing

/// The `spiffe_federation_bundle_*` gauges rendered from a snapshot's endpoint state: before the
/// first fetch, after a good one, and after a failure that keeps the last good bundle.
@Suite struct FederationMetricsTests {
    static let labels = #"{source="partner",trust_domain="partner.test"}"#

    static func lines(_ state: FederationEndpointState?, now: Date) -> [String] {
        var snapshot = SourceSnapshot(source: "partner", svids: [], bundles: [:])
        snapshot.federation = state
        var builder = ScrapeBuilder()
        FederationMetrics.collect([snapshot], now: now, into: &builder)
        return String(decoding: builder.render(.prometheusText), as: UTF8.self).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map(String.init)
    }

    @Test func beforeAfterAGoodFetchAndAfterAFailure() throws {
        let ca = try SVIDFactory.rootCA(trustDomain: "partner.test", notBefore: at(-3600), notAfter: at(7200))
        let x5c = Data(SVIDFactory.der(ca.certificate)).base64EncodedString()
        let body = #"{"keys":[{"kty":"EC","use":"x509-svid","x5c":["\#(x5c)"]}],"spiffe_sequence":9,"spiffe_refresh_hint":600}"#
        var state = FederationEndpointState(source: "partner", trustDomain: "partner.test")
        #expect(Self.lines(state, now: at(0)) == ["spiffe_federation_bundle_up\(Self.labels) 0"])
        #expect(Self.lines(nil, now: at(0)).isEmpty)

        #expect(state.record(FederationBundleDocument.parse(Array(body.utf8), trustDomain: "partner.test"), at: at(10)) == 600)
        let good = [
            "spiffe_federation_bundle_earliest_expiry_timestamp_seconds\(Self.labels) \(Int(at(7200).timeIntervalSince1970))",
            "spiffe_federation_bundle_last_update_timestamp_seconds\(Self.labels) \(Int(at(10).timeIntervalSince1970))",
            "spiffe_federation_bundle_refresh_hint_seconds\(Self.labels) 600",
            "spiffe_federation_bundle_sequence\(Self.labels) 9",
            "spiffe_federation_bundle_up\(Self.labels) 1",
        ]
        #expect(Self.lines(state, now: at(20)) == good)

        _ = state.record(.failure(FederationBundleFailure(.timeout, "no answer")), at: at(700), jitter: 0)
        #expect(Self.lines(state, now: at(700)) == good.map { $0.hasPrefix("spiffe_federation_bundle_up") ? "spiffe_federation_bundle_up\(Self.labels) 0" : $0 })
        // Once the only root has expired, there is no earliest valid expiry to show.
        #expect(!Self.lines(state, now: at(7201)).contains { $0.hasPrefix("spiffe_federation_bundle_earliest_expiry") })
    }
}
