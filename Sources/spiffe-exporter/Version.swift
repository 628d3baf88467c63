/// Reported by `--version` and `spiffe_exporter_build_info`.
enum BuildVersion {
    static let version = "0.1.0"
    /// Source revision; builds from a plain checkout do not know it and say so.
    static let revision = "unknown"
}
