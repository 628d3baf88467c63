#!/usr/bin/env bash
# Regenerates Sources/SPIFFEWorkloadAPI/*.pb.swift / *.grpc.swift from workload.proto, then
# Sources/SPIFFEAgentAPIs (Delegated Identity API, gRPC health) through generate-agent-apis.sh.
# Run by hand when the proto changes; the output is committed so CI never builds protoc plugins.
# Needs: protoc (Debian protobuf-compiler). Builds protoc-gen-swift and protoc-gen-grpc-swift-2
# once in a scratch package (several minutes on 2 cores).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${PLUGIN_WORKDIR:-/tmp/spiffe-exporter-protoc-plugins}"
mkdir -p "$work"
cat > "$work/Package.swift" <<'SWIFT'
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    ],
    targets: []
)
SWIFT
(cd "$work" && swift build -c release --product protoc-gen-swift && swift build -c release --product protoc-gen-grpc-swift-2)
bin="$(cd "$work" && swift build -c release --show-bin-path)"
out="$repo/Sources/SPIFFEWorkloadAPI"
cd "$out"
protoc --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --swift_out=. --swift_opt=Visibility=Public \
    workload.proto
protoc --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
    --grpc-swift_out=. --grpc-swift_opt=Visibility=Public,Client=true,Server=true \
    workload.proto
echo "generated: $(ls "$out"/*.swift | xargs -n1 basename | tr '\n' ' ')"
PROTOC_PLUGIN_BIN="$bin" "$repo/scripts/generate-agent-apis.sh"
