import ArgumentParser
import SPIFFEExporterConfig
import SPIFFEExporterCore

/// `--collector.cert-files.*`: spiffe-helper directories and certificate globs, watched with
/// inotify and re-read periodically.
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
        name: .customLong("collector.bundle-file"),
        help: ArgumentHelp(
            """
            A bootstrap trust bundle file of one trust domain (the agent's trust_bundle_path, a mounted \
            spire-bundle ConfigMap's bundle.crt), as NAME=TRUST_DOMAIN=PATH: compared with every other copy of \
            that trust domain's bundle (spiffe_trust_bundle_consistent). Read like certificate files. Repeatable.
            """,
            valueName: "name=trust_domain=path"))
    var bundleFiles: [String] = []

    @Option(
        name: .customLong("collector.cert-files.refresh-interval"),
        help: ArgumentHelp("Period of the full re-read behind inotify (jittered by ±10%). (default: 60s)", valueName: "duration"))
    var refreshInterval: String?

    @Option(
        name: .customLong("collector.cert-files.max-file-size"),
        help: ArgumentHelp(
            "Files larger than this are refused (file_too_large) without being read (e.g. 1MiB, 512KiB). (default: 1MiB)",
            valueName: "size"))
    var maxFileSize: String?

    @Option(
        name: .customLong("collector.cert-files.settle-delay"),
        help: ArgumentHelp(
            "A file that looks half-written (parse_error, key_mismatch, not_found) is re-read after this delay "
                + "before it is reported. (default: 200ms)",
            valueName: "duration"))
    var settleDelay: String?

    @Option(
        name: .customLong("collector.cert-files.svid-file-name"),
        help: ArgumentHelp(
            "Name of the X.509-SVID certificate file in each directory (spiffe-helper svid_file_name). (default: \(SPIFFEHelperFileNames.defaultSVID))",
            valueName: "file"))
    var svidFileName: String?

    @Option(
        name: .customLong("collector.cert-files.svid-key-file-name"),
        help: ArgumentHelp(
            "Name of the private key file (svid_key_file_name); empty for none (no key/cert match check). (default: \(SPIFFEHelperFileNames.defaultKey))",
            valueName: "file"))
    var svidKeyFileName: String?

    @Option(
        name: .customLong("collector.cert-files.svid-bundle-file-name"),
        help: ArgumentHelp(
            "Name of the trust bundle file (svid_bundle_file_name); empty for none (no chain check). (default: \(SPIFFEHelperFileNames.defaultBundle))",
            valueName: "file"))
    var svidBundleFileName: String?

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

    var settings: CommandLineSettings.CertFiles {
        CommandLineSettings.CertFiles(
            directories: directories, globs: globs, refreshInterval: refreshInterval, maxFileSize: maxFileSize,
            settleDelay: settleDelay, svidFileName: svidFileName, svidKeyFileName: svidKeyFileName,
            svidBundleFileName: svidBundleFileName, federatedBundleFileNames: federatedBundleFileNames,
            jwtSVIDFileNames: jwtSVIDFileNames, jwtBundleFileName: jwtBundleFileName, bundleFiles: bundleFiles)
    }
}
