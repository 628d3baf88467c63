extension MetricCatalog {
    /// Renewal tracking families.
    static let renewal: [MetricDescriptor] = []
    /// JWT-SVID and JWT bundle families.
    static let jwt: [MetricDescriptor] = []
}
