// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "spiffe-exporter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spiffe-exporter", targets: ["spiffe-exporter"]),
        .library(name: "SPIFFEExporterCore", targets: ["SPIFFEExporterCore"]),
        .library(name: "WorkloadAPISimulator", targets: ["WorkloadAPISimulator"]),
        // For the libFuzzer package in Fuzz/ (it depends on this package by path).
        .library(name: "SPIFFEExporterConfig", targets: ["SPIFFEExporterConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        // Pure logic: SPIFFE IDs, certificate analysis, expiry math, metric catalog, exposition.
        // No NIO, gRPC, HTTP, file system or clock.
        .target(
            name: "SPIFFEExporterCore",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        // The typed configuration: defaults, the YAML config file (Yams), the environment and the
        // flags resolved into one value with every problem located, and the collectors it plans.
        .target(
            name: "SPIFFEExporterConfig",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Generated protobuf + gRPC code for the SPIFFE Workload API (scripts/generate-workload-api.sh).
        .target(
            name: "SPIFFEWorkloadAPI",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            exclude: ["workload.proto"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Generated protobuf + gRPC code for SPIRE's Delegated Identity API and the gRPC health
        // service (scripts/generate-agent-apis.sh).
        .target(
            name: "SPIFFEAgentAPIs",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            exclude: [
                "spire/api/types/spiffeid.proto", "spire/api/types/selector.proto", "spire/api/types/x509svid.proto",
                "spire/api/types/jwtsvid.proto", "spire/api/agent/delegatedidentity/v1/delegatedidentity.proto",
                "spire/api/agent/debug/v1/debug.proto",
                "grpc/health/v1/health.proto",
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Builds SPIRE-like CAs and SVIDs in code: used by the simulator, the demo and tests.
        .target(
            name: "SVIDFactory",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SPIFFEExporterCollectors",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEWorkloadAPI",
                "SPIFFEAgentAPIs",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // The served-certificate probe (Probe/): TLS client with SPIFFE verification.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // Federation/: the bundle endpoint client (one GET, no redirects).
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SPIFFEExporterHTTP",
            dependencies: [
                "SPIFFEExporterCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                // --web.config.file (WebConfiguration.swift, BasicAuthMiddleware.swift, TLSSetup.swift).
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WorkloadAPISimulator",
            dependencies: [
                "SPIFFEWorkloadAPI",
                "SPIFFEAgentAPIs",
                "SVIDFactory",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // The federation bundle endpoint of the federated trust domains (HTTPS).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "spiffe-exporter",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                "SPIFFEExporterHTTP",
                "WorkloadAPISimulator",
                "SPIFFEExporterConfig",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // In-process benchmarks (scripts/bench.sh, docs/performance.md); `--smoke` runs in scripts/test.sh.
        .executableTarget(
            name: "spiffe-exporter-bench",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                "WorkloadAPISimulator",
                "SVIDFactory",
                "ExporterTestKit",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support shared by the test targets: waiting, temporary directories, external tools
        // (curl, promtool), the exposition parser, the exporter as a child process, clocks.
        .target(
            name: "TestKit",
            dependencies: [
                "SPIFFEExporterCore",
                "SVIDFactory",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestKit",
            swiftSettings: swiftSettings
        ),
        // The in-process exporter harness and simulator lifecycle shared by the collector tests
        // and the benchmark's smoke run.
        .target(
            name: "ExporterTestKit",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                "WorkloadAPISimulator",
                "TestKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/ExporterTestKit",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SPIFFEExporterCoreTests",
            dependencies: ["SPIFFEExporterCore", "SVIDFactory", "TestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SPIFFEExporterIntegrationTests",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                "SPIFFEExporterHTTP",
                "WorkloadAPISimulator",
                "SVIDFactory",
                "TestKit",
                "ExporterTestKit",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // The loopback federation bundle endpoint (FederationIntegrationTests).
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CertFilesTests",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                "SVIDFactory",
                "TestKit",
                "ExporterTestKit",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DelegatedIdentityTests",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                "SPIFFEAgentAPIs",
                "WorkloadAPISimulator",
                "SVIDFactory",
                "TestKit",
                "ExporterTestKit",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConfigTests",
            dependencies: [
                "SPIFFEExporterConfig",
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                .product(name: "Logging", package: "swift-log"),
            ],
            // One config file per invalid case, each saying which problem it must raise.
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeployTests",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["SVIDFactory", "TestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProbeTests",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterCollectors",
                "WorkloadAPISimulator",
                "SVIDFactory",
                "TestKit",
                "ExporterTestKit",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "SPIFFEExporterHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzz corpus regression, secrets scan, hostile labels, --web.max-requests, unprivileged user
        // (docs/reliability.md). Fuzz/Sources/FuzzEntryPoints/FuzzEntryPoints.swift is symlinked in.
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterConfig",
                "SPIFFEExporterCollectors",
                "SPIFFEExporterHTTP",
                "WorkloadAPISimulator",
                "SVIDFactory",
                "TestKit",
                "ExporterTestKit",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebSecurityTests",
            dependencies: [
                "SPIFFEExporterCore",
                "SPIFFEExporterHTTP",
                "SVIDFactory",
                "TestKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
