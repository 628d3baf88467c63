/// Closed vocabulary of reasons an X.509-SVID fails a check; the `reason` label of
/// `spiffe_x509_svid_problem`. Documented in docs/metrics.md; never extended with free text.
public enum SVIDProblem: String, CaseIterable, Hashable, Sendable, Comparable {
    /// The leaf certificate (or a certificate of its chain) could not be decoded.
    case parseError = "parse_error"
    /// The private key is missing, undecodable or of an unsupported type.
    case keyParseError = "key_parse_error"
    /// The leaf's URI SAN is not a valid SPIFFE ID, or it has no path.
    case invalidSPIFFEID = "invalid_spiffe_id"
    /// The leaf does not carry exactly one URI SAN.
    case uriSANCount = "uri_san_count"
    /// The leaf says CA=true.
    case caLeaf = "ca_leaf"
    /// keyUsage missing, without digitalSignature, or with keyCertSign/cRLSign.
    case keyUsage = "key_usage"
    /// The Workload API's `spiffe_id` field differs from the ID in the certificate.
    case spiffeIDMismatch = "spiffe_id_mismatch"
    /// The notAfter of the leaf has passed.
    case expired
    /// The notBefore of the leaf is still ahead (clock skew, or an issuer misconfiguration).
    case notYetValid = "not_yet_valid"
    /// No chain from the leaf to a root of its trust domain's bundle verifies.
    case chainUntrusted = "chain_untrusted"
    /// There is no bundle, or an empty one, for the leaf's trust domain.
    case bundleMissing = "bundle_missing"
    /// The private key does not belong to the leaf's public key.
    case keyMismatch = "key_mismatch"
    /// The SVID's trust domain differs from the trust domain its bundle's CAs speak for.
    case trustDomainMismatch = "trust_domain_mismatch"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
