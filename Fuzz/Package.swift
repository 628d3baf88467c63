// swift-tools-version:6.1
// libFuzzer targets for the parsers that read outside input (docs/reliability.md, scripts/fuzz.sh).
// Kept out of the main package: `-sanitize=fuzzer` must not leak into ordinary builds or CI.
import PackageDescription

let package = Package(
    name: "spiffe-exporter-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "spiffe-exporter", path: "..")],
    targets: [
        .target(
            name: "FuzzEntryPoints",
            dependencies: [
                .product(name: "SPIFFEExporterCore", package: "spiffe-exporter"),
                .product(name: "SPIFFEExporterConfig", package: "spiffe-exporter"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(name: "CLibFuzzer"),
        // One binary; FUZZ_TARGET selects pem, der, spiffe-id, jwt, jwks or config.
        .executableTarget(
            name: "spiffe-fuzz",
            dependencies: ["FuzzEntryPoints", "CLibFuzzer"],
            swiftSettings: [.swiftLanguageMode(.v6)],
            // gold crashes (internal error in format_file_lineno) linking the fuzzer runtime; lld does not.
            linkerSettings: [.unsafeFlags(["-use-ld=lld"])]
        ),
    ]
)
