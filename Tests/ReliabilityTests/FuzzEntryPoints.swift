import ExporterTestKit
import Foundation
import SPIFFEExporterConfig
import SPIFFEExporterCore
import X509

/// What one fuzz input led to. The contract for every target: never crash, never hang, and every
/// rejection carries a non-empty reason. `Tests/ReliabilityTests` runs the committed corpus through
/// these same functions (a copy of this file is there: change both), so a crasher found once stays fixed.
public enum FuzzOutcome: Sendable, Equatable {
    case accepted
    case rejected(reason: String)

    /// A rejection without a reason breaks the contract.
    public var keepsContract: Bool {
        if case .rejected(let reason) = self { return !reason.isEmpty }
        return true
    }
}

/// The fuzz targets, one per input format the exporter reads from outside.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case pem
    case der
    case spiffeID = "spiffe-id"
    case jwt
    case jwks
    case config
    case agentData = "agent-data"
    case envoyCerts = "envoy-certs"
    case federationBundle = "federation-bundle"

    /// Runs one input through the target's entry point.
    public func run(_ bytes: [UInt8]) async -> FuzzOutcome {
        switch self {
        case .pem: FuzzEntryPoints.pem(bytes)
        case .der: await FuzzEntryPoints.der(bytes)
        case .spiffeID: FuzzEntryPoints.spiffeID(bytes)
        case .jwt: FuzzEntryPoints.jwt(bytes)
        case .jwks: FuzzEntryPoints.jwks(bytes)
        case .config: FuzzEntryPoints.config(bytes)
        case .agentData: FuzzEntryPoints.agentData(bytes)
        case .envoyCerts: FuzzEntryPoints.envoyCerts(bytes)
        case .federationBundle: FuzzEntryPoints.federationBundle(bytes)
        }
    }
}

public enum FuzzEntryPoints {
    /// A fixed validation time: fuzz results must not depend on the wall clock.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// The SPIRE agent's data file: `agent-data.json`, or a pre-1.9 DER chain.
    public static func agentData(_ bytes: [UInt8]) -> FuzzOutcome {
        switch AgentDataFile.parse(bytes, now: now) {
        case .success: return .accepted
        case .failure(let failure): return .rejected(reason: failure.detail.isEmpty ? "" : failure.reason.rawValue + ": " + failure.detail)
        }
    }

    /// Envoy's admin `/certs` JSON, then the report drawn from it (SVIDs, CA expiry by trust domain).
    public static func envoyCerts(_ bytes: [UInt8]) -> FuzzOutcome {
        switch EnvoyCertificates.parse(bytes, now: now) {
        case .success(let certificates):
            _ = (certificates.certificateCount, certificates.svids.map(\.earliest), certificates.caExpiryByTrustDomain)
            return .accepted
        case .failure(let failure): return .rejected(reason: failure.detail.isEmpty ? "" : failure.reason.rawValue + ": " + failure.detail)
        }
    }

    /// A federation bundle endpoint's body (a SPIFFE bundle: JWK Set with `x5c` CAs), as the bundle
    /// of example.org.
    public static func federationBundle(_ bytes: [UInt8]) -> FuzzOutcome {
        switch FederationBundleDocument.parse(bytes, trustDomain: "example.org") {
        case .success: return .accepted
        case .failure(let failure): return .rejected(reason: failure.detail.isEmpty ? "" : failure.reason.rawValue + ": " + failure.detail)
        }
    }

    /// PEM splitting, then the spiffe-helper file reader on the same bytes as certificate and key.
    public static func pem(_ bytes: [UInt8]) -> FuzzOutcome {
        let material = X509SVIDMaterial.fromPEM(certificatePEM: bytes, keyPEM: bytes)
        do {
            let blocks = try PEM.parse(bytes)
            for block in blocks {
                // Re-encoding what was read must read back the same.
                guard (try? PEM.parse(PEM.encode(type: block.type, der: block.der)))?.first?.der == block.der else {
                    return .rejected(reason: "")  // a round-trip failure is a contract break
                }
            }
            if material.leaf == nil && material.decodeErrors.isEmpty { return .rejected(reason: "") }
            return .accepted
        } catch {
            return .rejected(reason: error.description)
        }
    }

    /// DER chain splitting and full X.509-SVID analysis of the Workload API encoding: the input is
    /// the chain, the key, and (its first element) the trust bundle.
    public static func der(_ bytes: [UInt8]) async -> FuzzOutcome {
        let material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: "spiffe://example.org/fuzz", hint: "", chainDER: bytes, keyDER: bytes)
        let roots = DERChain.splitPrefix(bytes).elements.prefix(1).compactMap { try? Certificate(derEncoded: Array($0)) }
        let bundle = TrustBundle(trustDomain: nil, certificates: roots)
        let report = await X509SVIDAnalyzer.analyze(
            material, bundles: BundleSet(own: bundle, byTrustDomain: [:]), now: now)
        if report.isValid(at: now) { return .accepted }
        let reasons = report.problems(at: now).map(\.rawValue) + report.decodeErrors
        return .rejected(reason: reasons.joined(separator: "; "))
    }

    /// SPIFFE ID and trust-domain parsing.
    public static func spiffeID(_ bytes: [UInt8]) -> FuzzOutcome {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? SPIFFEID.trustDomain(parsing: text)
        do {
            let id = try SPIFFEID(parsing: text)
            // What parses must print back to itself and parse again.
            guard id.description == text, (try? SPIFFEID(parsing: id.description)) == id else {
                return .rejected(reason: "")
            }
            return .accepted
        } catch {
            return .rejected(reason: error.description)
        }
    }

    /// JWT-SVID decoding and validation (header, claims, audience, expiry, signature). The input is
    /// the token, optionally followed by a newline and the JWKS of `example.org` to verify it with.
    public static func jwt(_ bytes: [UInt8]) -> FuzzOutcome {
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        let token = String(decoding: bytes[..<newline], as: UTF8.self)
        let jwks = Array(bytes[min(newline + 1, bytes.endIndex)...])
        let report = JWTSVIDAnalyzer.analyze(
            token: token, reportedSPIFFEID: nil, audiences: ["fuzz"], bundles: ["example.org": JWTBundle(jwks: jwks)])
        let problems = report.problems(at: now)
        return problems.isEmpty ? .accepted : .rejected(reason: problems.map(\.rawValue).joined(separator: ","))
    }

    /// JWKS (JWT bundle) parsing.
    public static func jwks(_ bytes: [UInt8]) -> FuzzOutcome {
        let bundle = JWTBundle(jwks: bytes)
        if let error = bundle.decodeError { return .rejected(reason: error) }
        return .accepted
    }

    /// The YAML config file parser and validator.
    public static func config(_ bytes: [UInt8]) -> FuzzOutcome {
        do {
            _ = try ConfigFileParser.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
            return .accepted
        } catch {
            let reasons = error.problems.map(\.description)
            return .rejected(reason: reasons.allSatisfy { !$0.isEmpty } ? reasons.joined(separator: "; ") : "")
        }
    }
}
