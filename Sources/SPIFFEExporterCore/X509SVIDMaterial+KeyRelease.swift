/// Dropping a private key once it has served its one purpose.
///
/// The Delegated Identity API hands the exporter the private keys of other workloads. The only use
/// the exporter has for them is checking that each key belongs to its certificate; after that the
/// key must not be kept. ``X509SVIDAnalyzer`` only compares a key that is present, so a material
/// re-analysed later (the store re-verifies chains as CAs come and go) would silently lose a
/// `key_mismatch` verdict: this records the verdict in ``X509SVIDMaterial/decodeProblems``, which
/// every analysis starts from, before the key goes.
extension X509SVIDMaterial {
    /// Checks the private key against the leaf, keeps the verdict, and forgets the key.
    ///
    /// Afterwards `privateKey` is `nil` and `keyExpected` is `false`; `key_mismatch` (the key does
    /// not belong to the leaf) and `key_parse_error` (no usable key arrived) stay in
    /// `decodeProblems`, so every later analysis reports them.
    public mutating func releasePrivateKey() {
        if let key = privateKey, let leaf, key.publicKey != leaf.publicKey {
            decodeProblems.insert(.keyMismatch)
        }
        privateKey = nil
        keyExpected = false
    }

    /// A copy without the private key; see ``releasePrivateKey()``.
    public func withoutPrivateKey() -> X509SVIDMaterial {
        var copy = self
        copy.releasePrivateKey()
        return copy
    }
}
