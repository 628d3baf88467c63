extension MetricCatalog {
    /// Delegated Identity API and agent health families.
    static let delegated: [MetricDescriptor] = []
}
