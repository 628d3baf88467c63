extension MetricCatalog {
    /// Configuration reload and other operator-facing families.
    static let operations: [MetricDescriptor] = []
}
