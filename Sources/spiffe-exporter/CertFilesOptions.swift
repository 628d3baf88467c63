import ArgumentParser
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore

/// `--collector.cert-files.*`: spiffe-helper directories and certificate globs, watched with
/// inotify and re-read periodically. The values become ``CertFilesSourceConfiguration``s, the
/// same values a config file will produce.
struct CertFilesOptions: ParsableArguments {
    @Option(
        name: .customLong("collector.cert-files.dir"),
        help: ArgumentHelp(
            "A spiffe-helper cert_dir to watch, as NAME=PATH (NAME becomes the source label). Repeatable.",
            valueName: "name=path"))
    var directories: [String] = []

    @Option(
        name: .customLong("collector.cert-files.glob"),
        help: ArgumentHelp(
            """
            Certificate files to watch, as NAME=GLOB, or GLOB alone for source \
            "\(CertFilesSourceConfiguration.defaultGlobSourceName)". Supports *, ?, [...] and ** (any depth); \
            a name starting with '.' is matched only by a pattern starting with '.'. Globs with the same NAME \
            form one source. Repeatable.
            """,
            valueName: "[name=]glob"))
    var globs: [String] = []

    @Option(
        name: .customLong("collector.cert-files.refresh-interval"),
        help: ArgumentHelp("Period of the full re-read behind inotify (jittered by ±10%).", valueName: "duration"))
    var refreshInterval = "60s"

    @Option(
        name: .customLong("collector.cert-files.max-file-size"),
        help: ArgumentHelp(
            "Files larger than this are refused (file_too_large) without being read (e.g. 1MiB, 512KiB).",
            valueName: "size"))
    var maxFileSize = "1MiB"

    @Option(
        name: .customLong("collector.cert-files.settle-delay"),
        help: ArgumentHelp(
            "A file that looks half-written (parse_error, key_mismatch, not_found) is re-read after this delay "
                + "before it is reported.",
            valueName: "duration"))
    var settleDelay = "200ms"

    @Option(
        name: .customLong("collector.cert-files.svid-file-name"),
        help: ArgumentHelp(
            "Name of the X.509-SVID certificate file in each directory (spiffe-helper svid_file_name).",
            valueName: "file"))
    var svidFileName = SPIFFEHelperFileNames.defaultSVID

    @Option(
        name: .customLong("collector.cert-files.svid-key-file-name"),
        help: ArgumentHelp(
            "Name of the private key file (svid_key_file_name); empty for none (no key/cert match check).",
            valueName: "file"))
    var svidKeyFileName = SPIFFEHelperFileNames.defaultKey

    @Option(
        name: .customLong("collector.cert-files.svid-bundle-file-name"),
        help: ArgumentHelp(
            "Name of the trust bundle file (svid_bundle_file_name); empty for none (no chain check).", valueName: "file"
        ))
    var svidBundleFileName = SPIFFEHelperFileNames.defaultBundle

    @Option(
        name: .customLong("collector.cert-files.federated-bundle-file-name"),
        help: ArgumentHelp(
            "A federated trust bundle file in each directory, as [TRUST_DOMAIN=]FILE; without TRUST_DOMAIN it is "
                + "read from the CAs' spiffe:// URI SAN. Repeatable.",
            valueName: "[trust-domain=]file"))
    var federatedBundleFileNames: [String] = []

    @Option(
        name: .customLong("collector.cert-files.jwt-svid-file-name"),
        help: ArgumentHelp(
            "A JWT-SVID token file in each directory (jwt_svids[].jwt_svid_file_name), checked for completeness. "
                + "Repeatable.",
            valueName: "file"))
    var jwtSVIDFileNames: [String] = []

    @Option(
        name: .customLong("collector.cert-files.jwt-bundle-file-name"),
        help: ArgumentHelp(
            "The JWT bundle file in each directory (jwt_bundle_file_name), checked for completeness.", valueName: "file"
        ))
    var jwtBundleFileName: String?

    /// Source names other collectors use; a certificate-file source may not take them.
    static let reservedSourceNames: Set<String> = ["workload_api"]

    func sourceConfigurations() throws -> [CertFilesSourceConfiguration] {
        do {
            let files = SPIFFEHelperFileNames(
                svid: svidFileName,
                key: svidKeyFileName.isEmpty ? nil : svidKeyFileName,
                bundle: svidBundleFileName.isEmpty ? nil : svidBundleFileName,
                federatedBundles: try federatedBundleFileNames.map(CertFilesFlags.parseFederatedBundle),
                jwtSVIDs: jwtSVIDFileNames,
                jwtBundle: jwtBundleFileName.flatMap { $0.isEmpty ? nil : $0 })
            let interval: Double
            do { interval = try DurationText.seconds(refreshInterval) } catch {
                throw ValidationError("--collector.cert-files.refresh-interval: \(error)")
            }
            let settle: Double
            do { settle = try DurationText.seconds(settleDelay) } catch {
                throw ValidationError("--collector.cert-files.settle-delay: \(error)")
            }
            let sources = try CertFilesFlags.makeConfigurations(
                directories: directories, globs: globs, files: files, refreshInterval: interval,
                maxFileSize: try CertFilesFlags.parseByteSize(maxFileSize), settleDelay: settle)
            for source in sources where Self.reservedSourceNames.contains(source.name) {
                throw ValidationError("--collector.cert-files: source name \"\(source.name)\" is reserved")
            }
            return sources
        } catch let error as CertFilesConfigurationError {
            throw ValidationError("--collector.cert-files: \(error)")
        }
    }

    /// Adds one collector for every configured directory and glob (nothing when none is set) and
    /// returns their configurations.
    @discardableResult
    func addCollectors(to components: inout ExporterComponents) throws -> [CertFilesSourceConfiguration] {
        let sources = try sourceConfigurations()
        // Two collectors writing one source would overwrite each other's identities.
        for source in sources where components.plannedSources.contains(source.name) {
            throw ValidationError("--collector.cert-files: source name \"\(source.name)\" is already a Workload API source")
        }
        components.addCertFiles(sources)
        return sources
    }
}

extension ExporterComponents {
    /// The certificate-files collector: SVIDs go to the shared store, glob certificates to a
    /// scrape contributor.
    mutating func addCertFiles(_ sources: [CertFilesSourceConfiguration]) {
        guard !sources.isEmpty else { return }
        let collector = CertFilesCollector(sources: sources, context: context)
        services.append(collector)
        contributors.append(collector.contributor)
    }
}
