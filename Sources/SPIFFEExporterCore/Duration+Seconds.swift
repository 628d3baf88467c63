extension Duration {
    /// Seconds as a Double: metric values and log fields, never configuration.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
