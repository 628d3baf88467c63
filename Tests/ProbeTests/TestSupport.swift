import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import ExporterTestKit
import TestKit
import Testing
import WorkloadAPISimulator

// MARK: Files

/// Writes an SVID the way spiffe-helper does (in place, cert → key → bundle).
func writeSVIDFiles(_ svid: IssuedSVID, bundle: [IssuedCA], to directory: String) throws {
    let bundlePEM = bundle.map { SVIDFactory.pem("CERTIFICATE", $0.der) }.joined()
    for (name, text) in [("svid.pem", svid.chainPEM), ("svid_key.pem", svid.keyPEM), ("svid_bundle.pem", bundlePEM)] {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
    }
}

// MARK: Simulator and exporter

let exporterID = "spiffe://example.org/exporter"
let serverID = "spiffe://example.org/server"

/// Runs a simulator issuing `exporterID` (first: the exporter's own, default SVID) and
/// `serverID` (the probed server's), and a Workload API collector feeding `store`, for the
/// duration of `body`; the collector ends before the simulator stops.
func withSimulatorAndCollector<T>(
    directory: String,
    clock: ShiftableClock,
    exporter: ExporterHarness,
    _ body: (WorkloadAPISimulator) async throws -> T
) async throws -> T {
    let socket = directory + "/agent.sock"
    let store = exporter.store
    return try await withSimulator(
        SimulatorConfiguration(socketPath: socket, spiffeIDs: [exporterID, serverID], svidTTL: 3600), clock: clock
    ) { simulator in
        let collector = WorkloadAPICollector(
            configuration: WorkloadAPICollectorConfiguration(address: .unix(path: socket), backoff: fastBackoff),
            context: exporter.context)
        return try await exporter.running([collector]) {
            try await eventually("the Workload API SVIDs reach the store") {
                store.newestSVID(spiffeID: serverID) != nil && !store.entries(source: "workload_api").isEmpty
            }
            return try await body(simulator)
        }
    }
}

extension WorkloadAPISimulator {
    func svid(_ spiffeID: String) throws -> IssuedSVID {
        try #require(currentSVIDs.first { $0.spiffeID == spiffeID })
    }
}

/// Renders what /metrics would show for the probe (store series excluded) at `now`.
func scrapeProbe(_ collector: ProbeCollector, registry: MetricsRegistry, now: Date) async -> Scrape {
    var builder = ScrapeBuilder()
    registry.collect(into: &builder)
    await collector.contributor.collect(now: now, into: &builder)
    return Scrape(text: String(decoding: builder.render(.prometheusText), as: UTF8.self))
}
