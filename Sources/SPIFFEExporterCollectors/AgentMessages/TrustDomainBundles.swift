import Foundation
import SPIFFEExporterCore

/// The one reader of the agent APIs' `map<string, bytes>` of trust domain → bundle: Workload API
/// federated bundles, X.509 and JWT bundle responses, the Delegated Identity API's CA certificates.
/// Keys may be `example.org` or `spiffe://example.org`; a key that is not a trust domain, and a
/// bundle that does not decode, is described as malformed (the key quoted, cut to 64 characters).
enum TrustDomainBundles {
    static func x509(_ map: [String: Data], field: String) -> (bundles: [String: TrustBundle], malformed: [String]) {
        decode(map, field: field) { domain, bytes in
            let bundle = TrustBundle(trustDomain: domain, der: bytes)
            return (bundle, bundle.decodeError)
        }
    }

    static func jwt(_ map: [String: Data], field: String) -> (bundles: [String: JWTBundle], malformed: [String]) {
        decode(map, field: field) { _, bytes in
            let bundle = JWTBundle(jwks: bytes)
            return (bundle, bundle.decodeError)
        }
    }

    private static func decode<Bundle>(
        _ map: [String: Data], field: String, _ make: (String, [UInt8]) -> (Bundle, String?)
    ) -> (bundles: [String: Bundle], malformed: [String]) {
        var malformed: [String] = []
        var bundles: [String: Bundle] = [:]
        // Sorted so malformed descriptions come out in the same order every time.
        for (key, bytes) in map.sorted(by: { $0.key < $1.key }) {
            guard let domain = try? SPIFFEID.trustDomain(parsing: key) else {
                malformed.append("\(field) key \(String(reflecting: String(key.prefix(64)))) is not a trust domain")
                continue
            }
            let (bundle, error) = make(domain, Array(bytes))
            if let error { malformed.append("\(field) \(domain): \(error)") }
            bundles[domain] = bundle
        }
        return (bundles, malformed)
    }
}
