extension MetricCatalog {
    public static let configLastReloadSuccessful = MetricDescriptor(
        "spiffe_exporter_config_last_reload_successful", .gauge,
        "1 if the last configuration reload (or the initial load) succeeded, else 0.")
    public static let configLastReloadSuccess = MetricDescriptor(
        "spiffe_exporter_config_last_reload_success_timestamp_seconds", .gauge,
        "When the configuration was last loaded successfully, in Unix seconds.")
    public static let logLinesDropped = MetricDescriptor(
        "spiffe_exporter_log_lines_dropped_total", .counter,
        "Log and output lines dropped because stdout or stderr was closed or full.")

    /// Configuration reload and other operator-facing families.
    static let operations: [MetricDescriptor] = [configLastReloadSuccessful, configLastReloadSuccess, logLinesDropped]
}
