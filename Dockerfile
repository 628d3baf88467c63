# Multi-stage build: compile with the Swift toolchain, ship only the binary on a small base.
# The standard library is linked statically so the runtime image needs no Swift runtime.
FROM swift:6.1-noble AS build
WORKDIR /src
COPY . .
RUN swift build -c release --static-swift-stdlib --product spiffe-exporter \
    && install -D "$(swift build -c release --show-bin-path)/spiffe-exporter" /out/spiffe-exporter

FROM ubuntu:24.04
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates zlib1g \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/spiffe-exporter /usr/local/bin/spiffe-exporter
USER 65532:65532
EXPOSE 9841
ENTRYPOINT ["/usr/local/bin/spiffe-exporter"]
