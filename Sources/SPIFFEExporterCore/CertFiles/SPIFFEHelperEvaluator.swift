import Foundation
import X509

/// The outcome of reading one file: its bytes, or why there are none.
public enum FileInput: Sendable, Hashable {
    case content([UInt8])
    case failed(CertFileLoadReason)

    public var bytes: [UInt8]? {
        if case .content(let bytes) = self { return bytes }
        return nil
    }

    public var failure: CertFileLoadReason? {
        if case .failed(let reason) = self { return reason }
        return nil
    }
}

/// What was read from a spiffe-helper directory, by role. Optional roles are `nil` when not
/// configured.
public struct SPIFFEHelperInputs: Sendable, Hashable {
    public var svid: FileInput
    public var key: FileInput?
    public var bundle: FileInput?
    public var federatedBundles: [(trustDomain: String?, input: FileInput)]
    public var jwtSVIDs: [FileInput]
    public var jwtBundle: FileInput?

    public init(
        svid: FileInput, key: FileInput? = nil, bundle: FileInput? = nil,
        federatedBundles: [(trustDomain: String?, input: FileInput)] = [], jwtSVIDs: [FileInput] = [],
        jwtBundle: FileInput? = nil
    ) {
        self.svid = svid
        self.key = key
        self.bundle = bundle
        self.federatedBundles = federatedBundles
        self.jwtSVIDs = jwtSVIDs
        self.jwtBundle = jwtBundle
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.svid == b.svid && a.key == b.key && a.bundle == b.bundle && a.jwtSVIDs == b.jwtSVIDs
            && a.jwtBundle == b.jwtBundle && a.federatedBundles.count == b.federatedBundles.count
            && zip(a.federatedBundles, b.federatedBundles).allSatisfy {
                $0.trustDomain == $1.trustDomain && $0.input == $1.input
            }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(svid)
        hasher.combine(key)
        hasher.combine(bundle)
        hasher.combine(jwtSVIDs)
        hasher.combine(jwtBundle)
        for federated in federatedBundles {
            hasher.combine(federated.trustDomain)
            hasher.combine(federated.input)
        }
    }
}

/// A spiffe-helper directory, parsed and checked.
public struct SPIFFEHelperEvaluation: Sendable {
    /// The SVID with the bundles it was checked against; `nil` when the certificate file could not
    /// be read at all (then there is no identity to report).
    public var svid: (material: X509SVIDMaterial, bundles: BundleSet, report: X509SVIDReport)?
    /// Bundles by trust domain name, for the `spiffe_trust_bundle_*` families.
    public var bundles: [String: TrustBundle]
    /// Load problems, by file name (for logs) and as the set of reasons to count.
    public var problems: [String: CertFileLoadReason]
    /// Human-readable detail for logs only.
    public var details: [String]

    public var reasons: Set<CertFileLoadReason> { Set(problems.values) }
}

/// Parses and checks what was read from a spiffe-helper directory: the SVID goes through the same
/// ``X509SVIDAnalyzer`` as a Workload API SVID (key match, chain against the bundle, profile).
public enum SPIFFEHelperEvaluator {
    /// - Parameters:
    ///   - names: the configured file names, used as keys of ``SPIFFEHelperEvaluation/problems``.
    ///   - previousSPIFFEID: the SPIFFE ID last read from this directory; an unreadable certificate
    ///     is reported under it so its series keep their identity (with `parse_error`).
    public static func evaluate(
        _ inputs: SPIFFEHelperInputs, names: SPIFFEHelperFileNames, previousSPIFFEID: String?, now: Date
    ) async -> SPIFFEHelperEvaluation {
        var problems: [String: CertFileLoadReason] = [:]
        var details: [String] = []

        // Bundles first: the SVID is checked against them.
        var ownBundle: TrustBundle?
        if let bundleName = names.bundle, let input = inputs.bundle {
            switch input {
            case .failed(let reason): problems[bundleName] = reason
            case .content(let bytes):
                let bundle = TrustBundle(trustDomain: nil, pem: bytes)
                if let error = bundle.decodeError {
                    problems[bundleName] = .parseError
                    details.append("\(bundleName): \(error)")
                }
                ownBundle = bundle
            }
        }
        var federated: [String: TrustBundle] = [:]
        for (file, entry) in zip(names.federatedBundles, inputs.federatedBundles) {
            switch entry.input {
            case .failed(let reason): problems[file.fileName] = reason
            case .content(let bytes):
                let bundle = TrustBundle(trustDomain: nil, pem: bytes)
                if let error = bundle.decodeError {
                    problems[file.fileName] = .parseError
                    details.append("\(file.fileName): \(error)")
                }
                for (domain, part) in split(bundle, defaultTrustDomain: entry.trustDomain ?? file.trustDomain) {
                    federated[domain] = merge(federated[domain], part)
                }
            }
        }

        var svid: (material: X509SVIDMaterial, bundles: BundleSet, report: X509SVIDReport)?
        switch inputs.svid {
        case .failed(let reason):
            problems[names.svid] = reason
        case .content(let certificateBytes):
            var keyBytes: [UInt8]?
            if let keyName = names.key, let keyInput = inputs.key {
                switch keyInput {
                case .content(let bytes): keyBytes = bytes
                // The key cannot be checked (spiffe-helper writes it 0600, often for another user); the
                // certificate is still reported.
                case .failed(let reason): problems[keyName] = reason
                }
            }
            var material = X509SVIDMaterial.fromPEM(certificatePEM: certificateBytes, keyPEM: keyBytes)
            if material.leaf == nil {
                problems[names.svid] = .parseError
                material.reportedSPIFFEID = previousSPIFFEID
            }
            if let keyName = names.key, material.decodeProblems.contains(.keyParseError), keyBytes != nil {
                problems[keyName] = .parseError
            }
            details.append(contentsOf: material.decodeErrors)
            let bundleSet = BundleSet(own: ownBundle, byTrustDomain: federated)
            let report = await X509SVIDAnalyzer.analyze(material, bundles: bundleSet, now: now)
            if report.staticProblems.contains(.keyMismatch), let keyName = names.key {
                problems[keyName] = .keyMismatch
            }
            svid = (material, bundleSet, report)
        }

        var bundles = federated
        if let ownBundle {
            let ownDomain = svid?.report.trustDomain
            for (domain, part) in split(ownBundle, defaultTrustDomain: ownDomain) {
                bundles[domain] = merge(bundles[domain], part)
            }
        }

        for (name, input) in zip(names.jwtSVIDs, inputs.jwtSVIDs) {
            switch input {
            case .failed(let reason): problems[name] = reason
            case .content(let bytes):
                if !JWTFileShape.isCompactJWT(bytes) {
                    problems[name] = .parseError
                    details.append("\(name): not a compact JWS (header.payload.signature)")
                }
            }
        }
        if let name = names.jwtBundle, let input = inputs.jwtBundle {
            switch input {
            case .failed(let reason): problems[name] = reason
            case .content(let bytes):
                if !JWTFileShape.isJWTBundleFile(bytes) {
                    problems[name] = .parseError
                    details.append("\(name): not a JSON object of base64-encoded JWKS documents")
                }
            }
        }
        return SPIFFEHelperEvaluation(svid: svid, bundles: bundles, problems: problems, details: details)
    }

    /// Splits a bundle file by the trust domain each CA names in its `spiffe://` URI SAN (a
    /// spiffe-helper bundle holds federated CAs too with `include_federated_domains`). CAs that name
    /// none belong to `defaultTrustDomain`, or are dropped from the per-trust-domain view if that is
    /// unknown too.
    static func split(_ bundle: TrustBundle, defaultTrustDomain: String?) -> [String: TrustBundle] {
        var groups: [String: [Certificate]] = [:]
        var order: [String] = []
        for (certificate, facts) in zip(bundle.certificates, bundle.facts) {
            let claimed = facts.uriSANs.lazy.compactMap { try? SPIFFEID(parsing: $0) }.first?.trustDomain
            guard let domain = claimed ?? defaultTrustDomain else { continue }
            if groups[domain] == nil { order.append(domain) }
            groups[domain, default: []].append(certificate)
        }
        if groups.isEmpty, let defaultTrustDomain {
            // An empty (or unreadable) bundle is still the trust domain's bundle: it has no roots.
            return [defaultTrustDomain: TrustBundle(trustDomain: defaultTrustDomain, certificates: [])]
        }
        var result: [String: TrustBundle] = [:]
        for domain in order {
            result[domain] = TrustBundle(trustDomain: domain, certificates: groups[domain] ?? [])
        }
        return result
    }

    static func merge(_ existing: TrustBundle?, _ addition: TrustBundle) -> TrustBundle {
        guard let existing else { return addition }
        var seen = Set(existing.certificates)
        var certificates = existing.certificates
        for certificate in addition.certificates where seen.insert(certificate).inserted {
            certificates.append(certificate)
        }
        return TrustBundle(trustDomain: existing.trustDomain, certificates: certificates)
    }
}

/// Structural checks for the JWT files spiffe-helper writes. Full JWT-SVID validation belongs to
/// the JWT collector; here a file only has to be complete, so a half-written one is noticed.
public enum JWTFileShape {
    /// `header.payload.signature`, base64url, header and payload JSON objects (surrounding
    /// whitespace tolerated; spiffe-helper writes no newline).
    public static func isCompactJWT(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return false }
        for part in parts.prefix(2) {
            guard let decoded = base64URL(part),
                (try? JSONSerialization.jsonObject(with: decoded)) is [String: Any]
            else { return false }
        }
        return base64URL(parts[2]) != nil
    }

    /// `{"<trust domain>": "<standard base64 of a JWKS JSON>", …}` with a `keys` array in each JWKS.
    public static func isJWTBundleFile(_ bytes: [UInt8]) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return false }
        for value in object.values {
            guard let text = value as? String, let jwks = Data(base64Encoded: text),
                let document = try? JSONSerialization.jsonObject(with: jwks) as? [String: Any],
                document["keys"] is [Any]
            else { return false }
        }
        return true
    }

    static func base64URL(_ text: Substring) -> Data? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard.append("=") }
        return Data(base64Encoded: standard)
    }
}
