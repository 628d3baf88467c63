extension MetricCatalog {
    /// Certificate-file source families (spiffe-helper directories and PEM globs).
    static let certFiles: [MetricDescriptor] = []
}
