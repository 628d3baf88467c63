import Crypto
import Foundation
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509
import _CryptoExtras

/// The decoded parts of one X.509-SVID as delivered (Workload API message or spiffe-helper files).
/// Decoding problems are recorded, never thrown: a bad SVID is still an identity to report.
public struct X509SVIDMaterial: Sendable {
    /// The `spiffe_id` field of the Workload API message; `nil` for files.
    public var reportedSPIFFEID: String?
    public var hint: String
    public var leaf: Certificate?
    public var intermediates: [Certificate]
    public var privateKey: Certificate.PrivateKey?
    /// Whether key material was supplied at all (a cert-only file has none to check).
    public var keyExpected: Bool
    public var decodeProblems: Set<SVIDProblem>
    /// Human-readable detail of decode failures, for logs only (never a label).
    public var decodeErrors: [String]

    public init(
        reportedSPIFFEID: String?,
        hint: String = "",
        leaf: Certificate?,
        intermediates: [Certificate] = [],
        privateKey: Certificate.PrivateKey?,
        keyExpected: Bool = true
    ) {
        self.reportedSPIFFEID = reportedSPIFFEID
        self.hint = hint
        self.leaf = leaf
        self.intermediates = intermediates
        self.privateKey = privateKey
        self.keyExpected = keyExpected
        self.decodeProblems = []
        self.decodeErrors = []
        if leaf == nil { decodeProblems.insert(.parseError) }
        if keyExpected && privateKey == nil { decodeProblems.insert(.keyParseError) }
    }

    /// From the Workload API encoding: DER chain leaf-first, PKCS#8 DER key.
    public static func fromWorkloadAPI(spiffeID: String, hint: String, chainDER: [UInt8], keyDER: [UInt8])
        -> X509SVIDMaterial
    {
        var errors: [String] = []
        var certificates: [Certificate] = []
        var chainOK = true
        do {
            for element in try DERChain.split(chainDER) {
                certificates.append(try Certificate(derEncoded: Array(element)))
            }
            if certificates.isEmpty {
                chainOK = false
                errors.append("x509_svid is empty")
            }
        } catch {
            chainOK = false
            errors.append("x509_svid does not decode: \(error)")
        }
        var key: Certificate.PrivateKey?
        do {
            key = try Certificate.PrivateKey(derBytes: keyDER)
        } catch {
            errors.append("x509_svid_key does not decode as PKCS#8: \(error)")
        }
        var material = X509SVIDMaterial(
            reportedSPIFFEID: spiffeID,
            hint: hint,
            leaf: chainOK ? certificates.first : nil,
            intermediates: chainOK ? Array(certificates.dropFirst()) : [],
            privateKey: key
        )
        material.decodeErrors = errors
        return material
    }

    /// From PEM files as spiffe-helper writes them: certificate file (leaf, then intermediates;
    /// other block types skipped) and an optional PKCS#8 `PRIVATE KEY` file.
    public static func fromPEM(certificatePEM: [UInt8], keyPEM: [UInt8]?) -> X509SVIDMaterial {
        var errors: [String] = []
        var certificates: [Certificate] = []
        var chainOK = true
        do {
            for block in try PEM.parse(certificatePEM) where block.type == "CERTIFICATE" {
                certificates.append(try Certificate(derEncoded: block.der))
            }
            if certificates.isEmpty {
                chainOK = false
                errors.append("no CERTIFICATE block found")
            } else if certificates.allSatisfy(\.isCertificateAuthority) {
                // spiffe-helper's omit_expired drops an expired leaf and leaves the intermediates:
                // there is no SVID here, not a CA leaf under the CA's own ID.
                chainOK = false
                errors.append("no end-entity certificate: only CA certificates (an expired leaf omitted?)")
            }
        } catch {
            chainOK = false
            errors.append("certificate file does not decode: \(error)")
        }
        var key: Certificate.PrivateKey?
        if let keyPEM {
            do {
                // go-spiffe reads only PKCS#8 "PRIVATE KEY" blocks and skips others.
                guard let block = try PEM.parse(keyPEM).first(where: { $0.type == "PRIVATE KEY" }) else {
                    throw KeyFileError.noPrivateKeyBlock
                }
                key = try Certificate.PrivateKey(derBytes: block.der)
            } catch {
                errors.append("key file does not decode: \(error)")
            }
        }
        var material = X509SVIDMaterial(
            reportedSPIFFEID: nil,
            leaf: chainOK ? certificates.first : nil,
            intermediates: chainOK ? Array(certificates.dropFirst()) : [],
            privateKey: key,
            keyExpected: keyPEM != nil
        )
        material.decodeErrors = errors
        return material
    }

    private enum KeyFileError: Error, CustomStringConvertible {
        case noPrivateKeyBlock
        var description: String { "no PKCS#8 PRIVATE KEY block found" }
    }
}

/// The verdict on one X.509-SVID. Time-independent checks are done once; expiry is evaluated at
/// each `now`, and the chain verdict is recomputed when `now` crosses a validity boundary of any
/// certificate involved (``needsReverification(at:)``).
public struct X509SVIDReport: Sendable {
    /// Label value: the leaf's SPIFFE ID when readable, else the Workload API's `spiffe_id` field.
    public var spiffeID: String
    public var trustDomain: String?
    public var hint: String
    public var leaf: CertificateFacts?
    public var intermediates: [CertificateFacts]
    public var keyType: String?
    public var staticProblems: Set<SVIDProblem>
    /// Chain verdict at ``verifiedAt``; `nil` when not attempted (no leaf or no bundle).
    public var chainTrusted: Bool?
    public var verifiedAt: Date
    public var reverifyAfter: Date
    public var decodeErrors: [String]

    public func problems(at now: Date) -> [SVIDProblem] {
        // The common case, a healthy SVID, allocates nothing (scrapes ask this of every identity).
        if staticProblems.isEmpty, chainTrusted != false, let leaf, now <= leaf.notAfter, now >= leaf.notBefore {
            return []
        }
        var problems = staticProblems
        if let leaf {
            if now > leaf.notAfter { problems.insert(.expired) }
            if now < leaf.notBefore { problems.insert(.notYetValid) }
        }
        if chainTrusted == false { problems.insert(.chainUntrusted) }
        return problems.sorted()
    }

    public func isValid(at now: Date) -> Bool { problems(at: now).isEmpty }

    /// Earliest NotAfter of the intermediates served with the leaf: one may expire before the
    /// leaf (an UpstreamAuthority's intermediate with a short life), and the chain with it.
    /// `nil` without intermediates.
    public var earliestIntermediateExpiry: Date? { intermediates.map(\.notAfter).min() }

    public func needsReverification(at now: Date) -> Bool { chainTrusted != nil && now >= reverifyAfter }
}

/// Trust bundles available to validate an SVID.
public struct BundleSet: Sendable {
    /// The bundle delivered for the SVID's own trust domain (`X509SVID.bundle`, `svid_bundle.pem`).
    public var own: TrustBundle?
    /// Bundles by trust domain name (`X509BundlesResponse`, `federated_bundles`).
    public var byTrustDomain: [String: TrustBundle]

    public init(own: TrustBundle?, byTrustDomain: [String: TrustBundle] = [:]) {
        self.own = own
        self.byTrustDomain = byTrustDomain
    }
}

public enum X509SVIDAnalyzer {
    /// Runs every SPIFFE X.509-SVID check (X509-SVID.md §2–§5) at `now`.
    public static func analyze(_ material: X509SVIDMaterial, bundles: BundleSet, now: Date) async -> X509SVIDReport {
        var problems = material.decodeProblems
        let leafFacts = material.leaf.map(CertificateFacts.init)
        var spiffeID = material.reportedSPIFFEID ?? ""
        var trustDomain: String?

        if let leaf = material.leaf, let facts = leafFacts {
            if facts.uriSANs.count == 1 {
                let uri = facts.uriSANs[0]
                spiffeID = uri
                if let id = try? SPIFFEID(parsing: uri), !id.isTrustDomainID {
                    trustDomain = id.trustDomain
                } else {
                    problems.insert(.invalidSPIFFEID)
                }
            } else {
                problems.insert(.uriSANCount)
            }
            if let reported = material.reportedSPIFFEID, !reported.isEmpty, facts.uriSANs.count == 1,
                reported != facts.uriSANs[0]
            {
                problems.insert(.spiffeIDMismatch)
            }
            if facts.isCA { problems.insert(.caLeaf) }
            if !facts.hasKeyUsage || !facts.digitalSignature || facts.keyCertSign || facts.cRLSign {
                problems.insert(.keyUsage)
            }
            if let key = material.privateKey, key.publicKey != leaf.publicKey {
                problems.insert(.keyMismatch)
            }
        }

        var chainTrusted: Bool?
        var reverifyAfter = Date.distantFuture
        if let leaf = material.leaf, let facts = leafFacts {
            let bundle = trustDomain.flatMap { bundles.byTrustDomain[$0] } ?? bundles.own
            if let bundle, !bundle.certificates.isEmpty {
                if let trustDomain {
                    let claimed = bundle.claimedTrustDomains
                    if let bundleDomain = bundle.trustDomain, bundleDomain != trustDomain {
                        problems.insert(.trustDomainMismatch)
                    } else if !claimed.isEmpty && !claimed.contains(trustDomain) {
                        problems.insert(.trustDomainMismatch)
                    }
                }
                // Validate inside the leaf's own validity window: the leaf's expiry is reported as
                // `expired`, `chain_untrusted` is about signatures, issuers and their validity.
                let validationTime = clamp(now, facts.notBefore, facts.notAfter)
                chainTrusted = await verifyChain(
                    leaf: leaf, intermediates: material.intermediates, roots: bundle.certificates,
                    spiffeID: spiffeID, at: validationTime)
                let boundaries = (material.intermediates.map(CertificateFacts.init) + bundle.facts)
                    .flatMap(\.validityBoundaries)
                    .filter { $0 > validationTime }
                reverifyAfter = boundaries.min() ?? .distantFuture
            } else {
                problems.insert(.bundleMissing)
            }
        }

        return X509SVIDReport(
            spiffeID: spiffeID,
            trustDomain: trustDomain,
            hint: material.hint,
            leaf: leafFacts,
            intermediates: material.intermediates.map(CertificateFacts.init),
            keyType: leafFacts?.keyType,
            staticProblems: problems,
            chainTrusted: chainTrusted,
            verifiedAt: now,
            reverifyAfter: reverifyAfter,
            decodeErrors: material.decodeErrors
        )
    }

    static func verifyChain(
        leaf: Certificate, intermediates: [Certificate], roots: [Certificate], spiffeID: String, at time: Date
    ) async -> Bool {
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
            SPIFFELeafPolicy(expectedURI: spiffeID)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        if case .validCertificate = result { return true }
        return false
    }

    static func clamp(_ value: Date, _ low: Date, _ high: Date) -> Date {
        if high < low { return low }
        return min(max(value, low), high)
    }
}

/// Accepts a chain only when its leaf carries exactly the expected SPIFFE ID as its single URI SAN.
/// It is the policy that understands the SAN and EKU extensions, which SPIFFE leaves may mark
/// critical; EKU contents are not enforced, as in go-spiffe's `x509svid.Verify`.
struct SPIFFELeafPolicy: VerifierPolicy {
    let expectedURI: String
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.subjectAlternativeName,
        .X509ExtensionID.extendedKeyUsage,
    ]

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let leaf = chain.leaf
        guard let sans = try? leaf.extensions.subjectAlternativeNames else {
            return .failsToMeetPolicy(reason: "leaf has no subjectAlternativeName")
        }
        var uris: [String] = []
        for name in sans {
            if case .uniformResourceIdentifier(let uri) = name { uris.append(uri) }
        }
        let expected = expectedURI
        guard uris == [expected] else {
            return .failsToMeetPolicy(reason: "leaf URI SAN is not exactly \(expected)")
        }
        return .meetsPolicy
    }
}

extension Certificate {
    var isCertificateAuthority: Bool {
        guard let constraints = try? extensions.basicConstraints, case .isCertificateAuthority = constraints else {
            return false
        }
        return true
    }
}
