extension MetricCatalog {
    /// Served-certificate probe families.
    static let probe: [MetricDescriptor] = []
}
