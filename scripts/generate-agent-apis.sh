#!/usr/bin/env bash
# Regenerates Sources/SPIFFEAgentAPIs/**/*.pb.swift / *.grpc.swift: SPIRE's Delegated Identity API
# and Debug API (with the spire.api.types they use) and the gRPC health service.
# Called by scripts/generate-workload-api.sh, which builds the protoc plugins and passes their
# directory as PROTOC_PLUGIN_BIN; run on its own, it hands over to that script so one command
# always regenerates every generated target.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PROTOC_PLUGIN_BIN:-}" ]; then
    exec "$repo/scripts/generate-workload-api.sh"
fi
bin="$PROTOC_PLUGIN_BIN"
out="$repo/Sources/SPIFFEAgentAPIs"
cd "$out"
# Proto paths are relative to the target folder, so generated files land next to their .proto.
protos=(
    spire/api/types/spiffeid.proto
    spire/api/types/selector.proto
    spire/api/types/x509svid.proto
    spire/api/types/jwtsvid.proto
    spire/api/agent/delegatedidentity/v1/delegatedidentity.proto
    spire/api/agent/debug/v1/debug.proto
    grpc/health/v1/health.proto
)
find . -name '*.pb.swift' -delete -o -name '*.grpc.swift' -delete
protoc --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --swift_out=. --swift_opt=Visibility=Public \
    "${protos[@]}"
# Only files that declare a service produce gRPC stubs.
protoc --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
    --grpc-swift_out=. --grpc-swift_opt=Visibility=Public,Client=true,Server=true \
    spire/api/agent/delegatedidentity/v1/delegatedidentity.proto spire/api/agent/debug/v1/debug.proto \
    grpc/health/v1/health.proto
echo "generated: $(find . -name '*.swift' | sort | tr '\n' ' ')"
