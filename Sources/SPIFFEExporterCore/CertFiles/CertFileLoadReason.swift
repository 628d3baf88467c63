#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Closed vocabulary of reasons a certificate-file source fails to load
/// (`spiffe_cert_file_load_errors_total{reason}`), documented in docs/metrics.md. Every reason is
/// created at zero for every source.
public enum CertFileLoadReason: String, CaseIterable, Sendable, Hashable, Comparable, Error {
    /// The file (or its directory) does not exist.
    case notFound = "not_found"
    /// The file exists but this process may not read it (EACCES/EPERM).
    case permissionDenied = "permission_denied"
    /// The file is larger than `--collector.cert-files.max-file-size`; it is not read.
    case fileTooLarge = "file_too_large"
    /// The content does not decode: empty, truncated or invalid PEM, not a certificate/key/JWT.
    case parseError = "parse_error"
    /// The private key does not belong to the certificate.
    case keyMismatch = "key_mismatch"
    /// Resolving the path runs into a symbolic link loop (ELOOP).
    case symlinkLoop = "symlink_loop"
    /// The path is a directory, FIFO, socket or device instead of a regular file.
    case notRegularFile = "not_regular_file"
    /// Any other I/O error while opening or reading.
    case readError = "read_error"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether the reason can be a passing state of a writer that rewrites files in place
    /// (spiffe-helper truncates, then writes cert → key → bundle), so it is re-read after a short
    /// settle delay before it is reported. `not_found` is included for writers that delete and
    /// recreate a file.
    public var mayBeTransient: Bool {
        switch self {
        case .parseError, .keyMismatch, .notFound: true
        default: false
        }
    }

    /// Maps an `errno` from `stat`/`open`/`read` to a reason.
    public static func classify(errno code: Int32) -> CertFileLoadReason {
        switch code {
        case ENOENT, ENOTDIR: .notFound
        case EACCES, EPERM: .permissionDenied
        case ELOOP: .symlinkLoop
        case EISDIR: .notRegularFile
        case EFBIG, EOVERFLOW: .fileTooLarge
        default: .readError
        }
    }
}
