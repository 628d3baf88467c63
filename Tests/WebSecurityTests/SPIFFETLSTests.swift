import Foundation
import HummingbirdBcrypt
import SPIFFEExporterCore
import SVIDFactory
import Synchronization
import TestKit
import Testing

@testable import SPIFFEExporterHTTP

/// The SPIFFE-native scrape path (`spiffe_tls_config`): the exporter serves its own X.509-SVID and
/// accepts only clients whose SVID verifies and whose SPIFFE ID is allowed.
@Suite("SPIFFE mTLS scrape path", .timeLimit(.minutes(2)))
struct SPIFFETLSTests {
    /// Stands in for the identity store: what the Workload API last delivered.
    final class Identities: Sendable {
        private let current = Mutex<[SPIFFEServingIdentity]>([])

        func set(_ svid: IssuedSVID?, own: TestCA, federated: [TestCA] = []) {
            let identities =
                svid.map { svid in
                    [
                        SPIFFEServingIdentity(
                            material: X509SVIDMaterial(
                                reportedSPIFFEID: svid.spiffeID, leaf: svid.leaf,
                                intermediates: Array(svid.chain.dropFirst()),
                                privateKey: svid.privateKey),
                            // As the Workload API delivers them: the own bundle unnamed, federated by name.
                            bundles: BundleSet(
                                own: TrustBundle(trustDomain: nil, certificates: [own.ca.certificate]),
                                byTrustDomain: Dictionary(
                                    uniqueKeysWithValues: federated.map { ($0.trustDomain, $0.bundle) })))
                    ]
                } ?? []
            current.withLock { $0 = identities }
        }

        var lookup: SPIFFEIdentityLookup {
            { [self] source in source == "workload_api" ? current.withLock { $0 } : [] }
        }
    }

    static let config = """
        spiffe_tls_config:
          source: workload_api
          allowed_spiffe_ids: [spiffe://example.org/prometheus]
          allowed_trust_domains: [partner.example]
        """

    static func security(directory: String, identities: Identities, yaml: String = config) throws -> WebSecurity {
        try write(yaml, to: directory + "/web.yml")
        return try WebSecurity(file: directory + "/web.yml", logger: quietLogger, spiffeIdentities: identities.lookup)
    }

    @Test("An allowed client SVID scrapes over mTLS; other IDs, foreign trust domains and forged chains are refused")
    func clientAuthorization() async throws {
        try await withTemporaryDirectory { directory in
            let domain = try TestCA.live(trustDomain: "example.org")
            let partner = try TestCA.live(trustDomain: "partner.example")
            let identities = Identities()
            identities.set(try domain.server(), own: domain, federated: [partner])
            // The client trusts the exporter's bundle (as spiffe-helper would write it).
            try write(domain.pem, to: directory + "/bundle.pem")
            let bundle = directory + "/bundle.pem"

            let prometheus = try writeCredentials(
                try domain.client(path: "/prometheus"), directory: directory, name: "prom")
            let intruder = try writeCredentials(
                try domain.client(path: "/intruder"), directory: directory, name: "intruder")
            let federated = try writeCredentials(
                try partner.client(path: "/prometheus"), directory: directory, name: "partner")
            let foreign = try writeCredentials(
                try TestCA.live(trustDomain: "evil.example").client(path: "/prometheus"), directory: directory,
                name: "foreign")
            // The allowed ID, but signed by a CA outside the bundle.
            let forged = try writeCredentials(
                try TestCA.live(trustDomain: "example.org").client(path: "/prometheus"), directory: directory, name: "forged"
            )

            let security = try Self.security(directory: directory, identities: identities)
            #expect(security.scheme == "https")
            try await withLiveServer(security: security) { port in
                let ok = try await curl(port: port, cacert: bundle, clientCert: prometheus, directory: directory)
                #expect(ok.httpCode == 200, "\(ok)")
                #expect(ok.body == StubMetrics.body)

                let partnerResult = try await curl(
                    port: port, cacert: bundle, clientCert: federated, directory: directory)
                #expect(partnerResult.httpCode == 200, "allowed trust domain, federated bundle: \(partnerResult)")

                for (name, credentials) in [
                    ("other SPIFFE ID", intruder), ("foreign trust domain", foreign), ("forged", forged),
                ] {
                    let refused = try await curl(
                        port: port, cacert: bundle, clientCert: credentials, directory: directory)
                    #expect(
                        refused.exitStatus != 0 && refused.httpCode == 0, "\(name): handshake must fail: \(refused)")
                }
                let none = try await curl(port: port, cacert: bundle, directory: directory)
                #expect(none.exitStatus != 0 && none.httpCode == 0, "no client certificate: \(none)")
            }
        }
    }

    @Test("The served certificate is the current SVID: it rotates without a restart, and none means no handshake")
    func servesCurrentSVID() async throws {
        try await withTemporaryDirectory { directory in
            let domain = try TestCA.live(trustDomain: "example.org")
            let identities = Identities()
            try write(domain.pem, to: directory + "/bundle.pem")
            let bundle = directory + "/bundle.pem"
            let client = try writeCredentials(
                try domain.client(path: "/prometheus"), directory: directory, name: "prom")
            let security = try Self.security(directory: directory, identities: identities)
            try await withLiveServer(security: security) { port in
                // Before the first Workload API answer there is nothing to serve.
                let early = try await curl(port: port, cacert: bundle, clientCert: client, directory: directory)
                #expect(early.exitStatus != 0 && early.httpCode == 0, "\(early)")

                let first = try domain.server()
                identities.set(first, own: domain)
                let one = try await curl(port: port, cacert: bundle, clientCert: client, directory: directory)
                #expect(one.httpCode == 200, "\(one)")
                #expect(one.servedLeafDER == SVIDFactory.der(first.leaf))

                let rotated = try domain.server()
                identities.set(rotated, own: domain)
                let two = try await curl(port: port, cacert: bundle, clientCert: client, directory: directory)
                #expect(two.httpCode == 200, "\(two)")
                #expect(two.servedLeafDER == SVIDFactory.der(rotated.leaf), "new connections get the rotated SVID")
            }
        }
    }

    @Test("spiffe_id picks which of several SVIDs is served")
    func picksConfiguredSVID() async throws {
        try await withTemporaryDirectory { directory in
            let domain = try TestCA.live(trustDomain: "example.org")
            let first = try domain.server(path: "/first")
            let second = try domain.server(path: "/exporter")
            let bundleSet = BundleSet(own: TrustBundle(trustDomain: nil, certificates: [domain.ca.certificate]))
            let identities: SPIFFEIdentityLookup = { _ in
                [first, second].map {
                    SPIFFEServingIdentity(
                        material: X509SVIDMaterial(
                            reportedSPIFFEID: $0.spiffeID, leaf: $0.leaf, privateKey: $0.privateKey),
                        bundles: bundleSet)
                }
            }
            try write(domain.pem, to: directory + "/bundle.pem")
            try write(
                Self.config + "\n  spiffe_id: spiffe://example.org/exporter\n", to: directory + "/web.yml")
            let security = try WebSecurity(
                file: directory + "/web.yml", logger: quietLogger, spiffeIdentities: identities)
            let client = try writeCredentials(
                try domain.client(path: "/prometheus"), directory: directory, name: "prom")
            try await withLiveServer(security: security) { port in
                let result = try await curl(
                    port: port, cacert: directory + "/bundle.pem", clientCert: client, directory: directory)
                #expect(result.httpCode == 200, "\(result)")
                #expect(result.servedLeafDER == SVIDFactory.der(second.leaf))
            }
        }
    }

    @Test("Basic auth can be layered on the SPIFFE path")
    func withBasicAuth() async throws {
        try await withTemporaryDirectory { directory in
            let domain = try TestCA.live(trustDomain: "example.org")
            let identities = Identities()
            identities.set(try domain.server(), own: domain)
            try write(domain.pem, to: directory + "/bundle.pem")
            let client = try writeCredentials(
                try domain.client(path: "/prometheus"), directory: directory, name: "prom")
            let hash = Bcrypt.hash("pw", cost: 4)
            let security = try Self.security(
                directory: directory, identities: identities,
                yaml: Self.config + "\nbasic_auth_users:\n  prometheus: \(hash)\n")
            try await withLiveServer(security: security) { port in
                let anonymous = try await curl(
                    port: port, cacert: directory + "/bundle.pem", clientCert: client, directory: directory)
                #expect(anonymous.httpCode == 401, "\(anonymous)")
                let ok = try await curl(
                    port: port, cacert: directory + "/bundle.pem", user: "prometheus:pw", clientCert: client,
                    directory: directory)
                #expect(ok.httpCode == 200, "\(ok)")
            }
        }
    }

    @Test("Client verification says why a client is refused")
    func rejectionReasons() async throws {
        let domain = try TestCA.live(trustDomain: "example.org")
        let partner = try TestCA.live(trustDomain: "partner.example")
        let identities = Identities()
        identities.set(try domain.server(), own: domain, federated: [partner])
        let configuration = try #require(try WebConfiguration.parse(yaml: Self.config).spiffeTLS)
        let source = SPIFFETLSSource(
            configuration: configuration, lookup: identities.lookup, logger: quietLogger, clock: { Date() })
        func verdict(_ svid: IssuedSVID) async -> Result<SPIFFEID, SPIFFETLSSource.Rejection> {
            await source.verifyClient(svid.chain.map(SVIDFactory.der))
        }

        #expect(
            try await verdict(try domain.client(path: "/prometheus")).get().description
                == "spiffe://example.org/prometheus")
        #expect(try await verdict(try partner.client(path: "/anything")).get().trustDomain == "partner.example")

        let intruder = await verdict(try domain.client(path: "/intruder"))
        #expect(intruder.rejection?.reason.contains("not in allowed_spiffe_ids") == true, "\(intruder)")
        #expect(intruder.rejection?.spiffeID == "spiffe://example.org/intruder")
        let foreign = await verdict(try TestCA.live(trustDomain: "evil.example").client(path: "/prometheus"))
        #expect(foreign.rejection?.reason.contains("bundle_missing") == true, "\(foreign)")
        let forged = await verdict(try TestCA.live(trustDomain: "example.org").client(path: "/prometheus"))
        #expect(forged.rejection?.reason.contains("chain_untrusted") == true, "\(forged)")
        var expiredProfile = LeafProfile()
        expiredProfile.dnsNames = []
        let expired = await verdict(
            try SVIDFactory.svid(
                spiffeID: "spiffe://example.org/prometheus", issuer: domain.ca,
                notBefore: Date().addingTimeInterval(-7200),
                notAfter: Date().addingTimeInterval(-60)))
        #expect(expired.rejection?.reason.contains("expired") == true, "\(expired)")
        // A CA certificate is not an SVID, even with an allowed ID.
        var caProfile = LeafProfile()
        caProfile.isCA = true
        caProfile.keyCertSign = true
        let caLeaf = await verdict(
            try SVIDFactory.svid(
                spiffeID: "spiffe://example.org/prometheus", issuer: domain.ca, notBefore: domain.notBefore,
                notAfter: domain.notAfter, profile: caProfile))
        #expect(caLeaf.rejection != nil, "\(caLeaf)")

        identities.set(nil, own: domain)
        let noBundle = await verdict(try domain.client(path: "/prometheus"))
        #expect(noBundle.rejection?.reason.contains("holds no X.509-SVID") == true, "\(noBundle)")
    }
}

extension Result {
    var rejection: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
