import ExporterTestKit
import Foundation
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import SVIDFactory
import ServiceLifecycle
import Synchronization
import TestKit
import Testing
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// spiffe-helper directories on real files in temporary directories, watched by the real collector
/// (inotify thread, debounce, settle delay). Each scenario checks the reason, the recovery, and
/// that /metrics stays valid for promtool.
@Suite("Certificate files: spiffe-helper directories", .timeLimit(.minutes(1)), .pollingEvery(.milliseconds(5)))
struct DirectorySourceTests {
    static let source = "helper"

    @Test("A spiffe-helper directory is exported like a Workload API source")
    func exportsTheSVIDWithChecks() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let svid = try ca.svid(lifetime: 3600)
            try writeHelperFiles(directory, svid, ca: ca)
            let harness = Harness([directorySource(path: directory)])
            // Counters exist from the start, every reason at zero.
            for reason in CertFileLoadReason.allCases { #expect(harness.errors(Self.source, reason) == 0) }
            #expect(harness.loads(Self.source, "success") == 0 && harness.loads(Self.source, "error") == 0)
            #expect(harness.board.unsynced() == [Self.source])
            try await harness.run {
                let scrape = try await eventually("the SVID is exported") { () async -> Scrape? in
                    let scrape = await harness.scrape()
                    return scrape.value("spiffe_x509_svid_valid", ["source": Self.source]) == 1 ? scrape : nil
                }
                let labels = ["source": Self.source, "spiffe_id": "spiffe://example.org/workload"]
                #expect(
                    scrape.value("spiffe_x509_svid_expiry_timestamp_seconds", labels) == at(3600).timeIntervalSince1970)
                #expect(scrape.value("spiffe_x509_svid_expires_in_seconds", labels) == 3600)
                #expect(scrape.samples("spiffe_x509_svid_problem").isEmpty)
                #expect(
                    scrape.value(
                        "spiffe_trust_bundle_certificates", ["source": Self.source, "trust_domain": "example.org"]) == 1
                )
                #expect(
                    scrape.value("spiffe_cert_file_loads_total", ["source": Self.source, "result": "success"]) == 1)
                #expect(scrape.samples("spiffe_cert_file_load_errors_total", ["source": Self.source]).count == 8)
                #expect(scrape.value("spiffe_cert_file_load_duration_seconds_count", ["source": Self.source]) == 1)
                #expect(
                    scrape.value("spiffe_cert_file_last_change_timestamp_seconds", ["source": Self.source])
                        == referenceTime.timeIntervalSince1970)
                #expect(
                    scrape.value("spiffe_cert_file_last_load_success_timestamp_seconds", ["source": Self.source])
                        == referenceTime.timeIntervalSince1970)
                #expect(harness.board.unsynced().isEmpty)
                #expect(harness.statistics(Self.source).watchedDirectories.contains(directory))
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("Atomic rename rotation reaches /metrics within 1 s")
    func atomicRenameRotation() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            try writeHelperFiles(directory, try ca.svid(lifetime: 3600), ca: ca, atomically: true)
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("first load") {
                    await harness.svidExpiry(Self.source) == at(3600).timeIntervalSince1970
                }
                var latencies: [Double] = []
                for rotation in 1...5 {
                    let lifetime = 3600 + Double(rotation) * 60
                    let next = try ca.svid(lifetime: lifetime)
                    let started = ContinuousClock.now
                    try writeHelperFiles(directory, next, ca: ca, atomically: true)
                    try await eventually(timeout: .seconds(5), "rotation \(rotation) exported") {
                        await harness.svidExpiry(Self.source) == at(lifetime).timeIntervalSince1970
                    }
                    latencies.append((ContinuousClock.now - started).seconds)
                }
                let text = latencies.map { String(format: "%.3f", $0) }
                print("cert-files rename rotation → /metrics latency (s): \(text)")
                #expect(harness.errors(Self.source, .keyMismatch) == 0)
                #expect(harness.loads(Self.source, "error") == 0)
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("Renewal tracking follows a file source: on time, then overdue, then missed")
    func renewalOutcomesOfFiles() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let id = "spiffe://example.org/workload"
            let labels = ["source": Self.source, "spiffe_id": id]
            func renewals(_ scrape: Scrape, _ outcome: String) -> Double? {
                scrape.value("spiffe_x509_svid_renewals_total", labels.merging(["outcome": outcome]) { $1 })
            }
            let now = Mutex(referenceTime)
            // Generation 1: at(-10) … at(3600); renewal deadline at 0.75 of its lifetime, at(2697.5).
            try writeHelperFiles(directory, try ca.svid(lifetime: 3600), ca: ca, atomically: true)
            let harness = Harness([directorySource(path: directory)], clock: { now.withLock { $0 } })
            try await harness.run {
                try await eventually("generation 1 loaded") {
                    await harness.svidExpiry(Self.source) == at(3600).timeIntervalSince1970
                }
                // The helper writes generation 2 at half-life: on time.
                now.withLock { $0 = at(1800) }
                let second = try SVIDFactory.svid(
                    spiffeID: id, issuer: ca.root, notBefore: at(1790), notAfter: at(5400))
                try writeHelperFiles(directory, second, ca: ca, atomically: true)
                try await eventually("generation 2 counted on time") {
                    renewals(await harness.scrape(now: at(1800)), "on_time") == 1
                }
                // Then the helper stalls: past generation 2's deadline (at(4497.5)) it is overdue …
                let overdue = await harness.scrape(now: at(4600))
                #expect(overdue.value("spiffe_x509_svid_renewal_overdue", labels) == 1)
                #expect(renewals(overdue, "missed") == 0)
                // … and once it expires with no replacement, a missed renewal.
                let missed = await harness.scrape(now: at(5401))
                #expect(renewals(missed, "missed") == 1)
                #expect(renewals(missed, "on_time") == 1)
                #expect(renewals(missed, "late") == 0)
            }
        }
    }

    @Test("In-place rewrite with a pause between cert and key is not reported")
    func inPlaceRewriteWithPause() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let old = try ca.svid(lifetime: 3600)
            try writeHelperFiles(directory, old, ca: ca)
            // A long settle delay: the collector must keep the old state for the whole pause and
            // take the new one as soon as the key arrives, not when a timer runs out.
            let harness = Harness([directorySource(path: directory, settleDelay: 30, maxSettle: 60)])
            try await harness.run {
                try await eventually("first load") {
                    await harness.svidExpiry(Self.source) == at(3600).timeIntervalSince1970
                }
                let next = try ca.svid(lifetime: 7200)
                try Files.writeInPlace(directory + "/svid.pem", next.chainPEM)
                // The collector saw the new cert with the old key and held it back…
                try await eventually("the mismatch is held back") { harness.statistics(Self.source).holds >= 1 }
                let during = await harness.scrape()
                #expect(
                    during.value("spiffe_x509_svid_expiry_timestamp_seconds", ["source": Self.source])
                        == at(3600).timeIntervalSince1970)
                #expect(during.value("spiffe_x509_svid_valid", ["source": Self.source]) == 1)
                #expect(during.samples("spiffe_x509_svid_problem").isEmpty)
                #expect(harness.errors(Self.source, .keyMismatch) == 0)
                // …and the key write completes the rotation.
                try Files.writeInPlace(directory + "/svid_key.pem", next.keyPEM)
                try Files.writeInPlace(directory + "/svid_bundle.pem", ca.bundlePEM)
                try await eventually(timeout: .seconds(5), "the new SVID is exported") {
                    await harness.svidExpiry(Self.source) == at(7200).timeIntervalSince1970
                }
                let scrape = await harness.scrape()
                #expect(scrape.value("spiffe_x509_svid_valid", ["source": Self.source]) == 1)
                #expect(harness.errors(Self.source, .keyMismatch) == 0)
                #expect(harness.loads(Self.source, "error") == 0)
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("A key that really does not match is reported after the settle delay, and recovers")
    func persistentKeyMismatch() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let good = try ca.svid(lifetime: 3600)
            try writeHelperFiles(directory, good, ca: ca)
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("first load") { await harness.svidExpiry(Self.source) != nil }
                let stranger = try ca.svid(lifetime: 4000)
                try Files.writeInPlace(directory + "/svid_key.pem", stranger.keyPEM)
                try await eventually("key_mismatch counted") { harness.errors(Self.source, .keyMismatch) >= 1 }
                #expect(harness.statistics(Self.source).holds >= 1, "reported without settling first")
                let scrape = await harness.scrape()
                let id = "spiffe://example.org/workload"
                #expect(
                    scrape.value(
                        "spiffe_x509_svid_problem", ["source": Self.source, "spiffe_id": id, "reason": "key_mismatch"])
                        == 1)
                #expect(scrape.value("spiffe_x509_svid_valid", ["source": Self.source]) == 0)
                #expect(harness.loads(Self.source, "error") >= 1)
                try await harness.expectValidExposition()

                try Files.writeInPlace(directory + "/svid_key.pem", good.keyPEM)
                try await eventually("recovered") {
                    await harness.scrape().value("spiffe_x509_svid_valid", ["source": Self.source]) == 1
                }
                #expect(await harness.scrape().samples("spiffe_x509_svid_problem").isEmpty)
                #expect(harness.statistics(Self.source).lastProblems.isEmpty)
            }
        }
    }

    @Test("A truncated PEM is settled, then reported as parse_error under the last SPIFFE ID")
    func truncatedPEM() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let good = try ca.svid(lifetime: 3600)
            try writeHelperFiles(directory, good, ca: ca)
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("first load") { await harness.svidExpiry(Self.source) != nil }
                let pem = Array(good.chainPEM.utf8)
                try Files.writeInPlace(directory + "/svid.pem", Array(pem.prefix(pem.count * 2 / 3)))
                try await eventually("parse_error counted") { harness.errors(Self.source, .parseError) >= 1 }
                #expect(harness.statistics(Self.source).holds >= 1)
                let scrape = await harness.scrape()
                let labels = ["source": Self.source, "spiffe_id": "spiffe://example.org/workload"]
                #expect(scrape.value("spiffe_x509_svid_problem", labels.merging(["reason": "parse_error"]) { $1 }) == 1)
                #expect(scrape.value("spiffe_x509_svid_valid", labels) == 0)
                // No expiry for a certificate that cannot be read.
                #expect(scrape.value("spiffe_x509_svid_expiry_timestamp_seconds", labels) == nil)
                #expect(harness.statistics(Self.source).lastProblems == ["svid.pem": .parseError])
                try await harness.expectValidExposition()

                try Files.writeInPlace(directory + "/svid.pem", good.chainPEM)
                try await eventually("recovered") {
                    await harness.svidExpiry(Self.source) == at(3600).timeIntervalSince1970
                }
                #expect(await harness.scrape().value("spiffe_x509_svid_valid", labels) == 1)
            }
        }
    }

    @Test("Garbage in every file is parse_error; a good rewrite recovers")
    func garbage() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            var generator = SystemRandomNumberGenerator()
            for name in ["svid.pem", "svid_key.pem", "svid_bundle.pem"] {
                try Files.writeInPlace(
                    directory + "/" + name, (0..<700).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("parse errors counted") { harness.errors(Self.source, .parseError) >= 3 }
                #expect(harness.statistics(Self.source).lastProblems.count == 3)
                #expect(harness.loads(Self.source, "error") == 1)
                #expect(harness.loads(Self.source, "success") == 0)
                #expect(harness.board.unsynced().isEmpty, "a definite answer counts as synced")
                let scrape = await harness.scrape()
                #expect(
                    scrape.value("spiffe_x509_svid_problem", ["source": Self.source, "reason": "parse_error"]) == 1)
                #expect(
                    scrape.value("spiffe_cert_file_last_load_success_timestamp_seconds", ["source": Self.source]) == 0)
                try await harness.expectValidExposition()

                try writeHelperFiles(directory, try ca.svid(), ca: ca)
                try await eventually("recovered") {
                    await harness.scrape().value("spiffe_x509_svid_valid", ["source": Self.source]) == 1
                }
                #expect(harness.loads(Self.source, "success") >= 1)
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("A 100 MB file is refused without being read")
    func hugeFile() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            try writeHelperFiles(directory, try ca.svid(), ca: ca)
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("first load") { await harness.svidExpiry(Self.source) != nil }
                let before = residentBytes()
                try Files.makeSparse(directory + "/svid_bundle.pem", size: 100 * 1024 * 1024)
                try await eventually("file_too_large counted") { harness.errors(Self.source, .fileTooLarge) >= 1 }
                let grown = residentBytes() - before
                #expect(grown < 20 * 1024 * 1024, "resident memory grew by \(grown) bytes")
                #expect(harness.statistics(Self.source).holds == 0, "file_too_large cannot be a half-written file")
                #expect(harness.statistics(Self.source).lastProblems == ["svid_bundle.pem": .fileTooLarge])
                // Without a bundle, the SVID is still exported and flagged.
                let scrape = await harness.scrape()
                #expect(
                    scrape.value("spiffe_x509_svid_problem", ["source": Self.source, "reason": "bundle_missing"]) == 1)
                try await harness.expectValidExposition()

                try Files.writeInPlace(directory + "/svid_bundle.pem", ca.bundlePEM)
                try await eventually("recovered") {
                    await harness.scrape().value("spiffe_x509_svid_valid", ["source": Self.source]) == 1
                }
            }
        }
    }

    @Test("Unreadable files are permission_denied")
    func unreadableFile() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let svid = try ca.svid()
            try writeHelperFiles(directory, svid, ca: ca)
            let key = directory + "/svid_key.pem"
            #expect(chmod(key, 0o000) == 0)
            if geteuid() != 0 {
                let harness = Harness([directorySource(path: directory)])
                try await harness.run {
                    try await eventually("permission_denied counted") {
                        harness.errors(Self.source, .permissionDenied) >= 1
                    }
                    // The certificate is still monitored; only the key check is impossible.
                    let scrape = await harness.scrape()
                    #expect(scrape.value("spiffe_x509_svid_valid", ["source": Self.source]) == 1)
                    try await harness.expectValidExposition()
                }
            } else {
                // Root bypasses file permissions (CAP_DAC_OVERRIDE), so a chmod cannot make the
                // collector fail here. Instead the reader runs on a thread whose file-system uid is
                // `nobody`, which drops that capability for the thread: a real EACCES from open(2).
                // The collector's handling of the reason is covered by
                // `unreadableKeyStillReportsTheCertificate` in the evaluator tests.
                let result = try await readAsNobody(key)
                #expect(result == .permissionDenied)
            }
            #expect(CertFileLoadReason.classify(errno: EACCES) == .permissionDenied)
        }
    }

    @Test("A symlink loop is symlink_loop and does not hang anything")
    func symlinkLoop() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let svid = try ca.svid()
            try writeHelperFiles(directory, svid, ca: ca)
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("first load") { await harness.svidExpiry(Self.source) != nil }
                Files.remove(directory + "/svid.pem")
                try Files.symlink(directory + "/loop-b", at: directory + "/loop-a")
                try Files.symlink(directory + "/loop-a", at: directory + "/loop-b")
                try Files.symlink("loop-a", at: directory + "/svid.pem")
                try await eventually("symlink_loop counted") { harness.errors(Self.source, .symlinkLoop) >= 1 }
                #expect(harness.statistics(Self.source).lastProblems == ["svid.pem": .symlinkLoop])
                // No certificate, no identity.
                #expect(await harness.scrape().samples("spiffe_x509_svid_valid", ["source": Self.source]).isEmpty)
                try await harness.expectValidExposition()

                Files.remove(directory + "/svid.pem")
                try Files.writeInPlace(directory + "/svid.pem", svid.chainPEM)
                try await eventually("recovered") {
                    await harness.scrape().value("spiffe_x509_svid_valid", ["source": Self.source]) == 1
                }
            }
        }
    }

    @Test("A directory where a file was expected is not_regular_file")
    func directoryInsteadOfFile() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            try writeHelperFiles(directory, try ca.svid(), ca: ca)
            Files.remove(directory + "/svid_key.pem")
            try Files.makeDirectory(directory + "/svid_key.pem")
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("not_regular_file counted") { harness.errors(Self.source, .notRegularFile) >= 1 }
                #expect(harness.statistics(Self.source).holds == 0)
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("A Kubernetes projected volume ..data swap reaches /metrics within 1 s")
    func projectedVolumeSwap() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            // The kubelet's atomic writer: files live in a timestamped directory, `..data` points
            // to it, and the visible names are symlinks through `..data`.
            func writeGeneration(_ name: String, _ svid: IssuedSVID) throws {
                try Files.makeDirectory(directory + "/" + name)
                try writeHelperFiles(directory + "/" + name, svid, ca: ca)
            }
            try writeGeneration("..2030_01_01_00_00_00.1", try ca.svid(lifetime: 3600))
            try Files.symlink("..2030_01_01_00_00_00.1", at: directory + "/..data")
            for name in ["svid.pem", "svid_key.pem", "svid_bundle.pem"] {
                try Files.symlink("..data/" + name, at: directory + "/" + name)
            }
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("first load") {
                    await harness.svidExpiry(Self.source) == at(3600).timeIntervalSince1970
                }
                for (generation, lifetime) in [(2, 7200.0), (3, 10800.0)] {
                    let name = "..2030_01_01_00_00_00.\(generation)"
                    try writeGeneration(name, try ca.svid(lifetime: lifetime))
                    try Files.symlink(name, at: directory + "/..data_tmp")
                    #expect(rename(directory + "/..data_tmp", directory + "/..data") == 0)
                    Files.remove(directory + "/..2030_01_01_00_00_00.\(generation - 1)")
                    try await eventually(timeout: .seconds(5), "generation \(generation) exported") {
                        await harness.svidExpiry(Self.source) == at(lifetime).timeIntervalSince1970
                    }
                }
                #expect(harness.loads(Self.source, "error") == 0)
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("A directory that appears after start is picked up")
    func directoryAppearsLater() async throws {
        try await withTemporaryDirectory { base in
            let directory = base + "/later/spiffe"
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("not_found counted") { harness.errors(Self.source, .notFound) >= 1 }
                #expect(harness.board.unsynced().isEmpty)
                // The closest existing ancestor is watched for the directory to appear.
                #expect(harness.statistics(Self.source).watchedDirectories == [base])
                try await harness.expectValidExposition()

                let ca = try TestCA()
                try Files.makeDirectory(directory)
                try writeHelperFiles(directory, try ca.svid(), ca: ca)
                try await eventually(timeout: .seconds(5), "loaded after the directory appeared") {
                    await harness.scrape().value("spiffe_x509_svid_valid", ["source": Self.source]) == 1
                }
                #expect(harness.statistics(Self.source).watchedDirectories.contains(directory))
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("A directory deleted and recreated is watched again")
    func directoryReplaced() async throws {
        try await withTemporaryDirectory { base in
            let directory = base + "/certs"
            let ca = try TestCA()
            try Files.makeDirectory(directory)
            try writeHelperFiles(directory, try ca.svid(lifetime: 3600), ca: ca)
            let harness = Harness([directorySource(path: directory)])
            try await harness.run {
                try await eventually("first load") {
                    await harness.svidExpiry(Self.source) == at(3600).timeIntervalSince1970
                }
                // Replaced by renaming a prepared directory over it.
                Files.remove(directory)
                try Files.makeDirectory(base + "/certs.new")
                try writeHelperFiles(base + "/certs.new", try ca.svid(lifetime: 7200), ca: ca)
                #expect(rename(base + "/certs.new", directory) == 0)
                try await eventually("the replacement is exported") {
                    await harness.svidExpiry(Self.source) == at(7200).timeIntervalSince1970
                }
                // Later in-place writes in the new directory are seen too: its watch was re-added.
                try await eventually("the new directory is watched") {
                    harness.statistics(Self.source).watchedDirectories.contains(directory)
                }
                try writeHelperFiles(directory, try ca.svid(lifetime: 10800), ca: ca)
                try await eventually("an in-place rotation in the new directory") {
                    await harness.svidExpiry(Self.source) == at(10800).timeIntervalSince1970
                }
                try await harness.expectValidExposition()
            }
        }
    }

    @Test("The periodic rescan alone notices changes (inotify off)")
    func periodicRescan() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            try writeHelperFiles(directory, try ca.svid(lifetime: 3600), ca: ca)
            let harness = Harness(
                [directorySource(path: directory, refresh: 1)], settings: CertFilesCollectorSettings(useInotify: false))
            try await harness.run {
                try await eventually("first load") {
                    await harness.svidExpiry(Self.source) == at(3600).timeIntervalSince1970
                }
                try writeHelperFiles(directory, try ca.svid(lifetime: 7200), ca: ca)
                try await eventually(timeout: .seconds(5), "the rescan found the rotation") {
                    await harness.svidExpiry(Self.source) == at(7200).timeIntervalSince1970
                }
                #expect(harness.collector.inotifyEventCount == 0)
                // Healthy rescans keep counting loads and advancing the success timestamp.
                let loads = harness.loads(Self.source, "success")
                try await eventually(timeout: .seconds(5), "another rescan") {
                    harness.loads(Self.source, "success") > loads
                }
            }
        }
    }

    @Test("An identical rewrite is a load but not a change")
    func identicalRewrite() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            let svid = try ca.svid()
            try writeHelperFiles(directory, svid, ca: ca)
            let clockTicks = Mutex(0.0)
            // A clock that moves forward at each reading, to see which timestamps are refreshed.
            let exporter = ExporterHarness(now: {
                referenceTime.addingTimeInterval(
                    clockTicks.withLock {
                        $0 += 1
                        return $0
                    })
            })
            let registry = exporter.registry
            let collector = CertFilesCollector(sources: [directorySource(path: directory)], context: exporter.context)
            try await exporter.running([collector]) {
                try await eventually("first load") {
                    registry.value(MetricCatalog.certFileLoads, [Self.source, "success"]) == 1
                }
                let firstChange = registry.value(MetricCatalog.certFileLastChange, [Self.source])
                try writeHelperFiles(directory, svid, ca: ca)
                try await eventually("the rewrite was loaded") {
                    (registry.value(MetricCatalog.certFileLoads, [Self.source, "success"]) ?? 0) >= 2
                }
                #expect(registry.value(MetricCatalog.certFileLastChange, [Self.source]) == firstChange)
                #expect(
                    (registry.value(MetricCatalog.certFileLastLoadSuccess, [Self.source]) ?? 0)
                        > (firstChange ?? .infinity))
            }
        }
    }

    @Test("Several sources: one broken source does not affect another")
    func independentSources() async throws {
        try await withTemporaryDirectory { base in
            let ca = try TestCA()
            try Files.makeDirectory(base + "/good")
            try Files.makeDirectory(base + "/bad")
            try writeHelperFiles(base + "/good", try ca.svid(), ca: ca)
            try Files.symlink("svid.pem", at: base + "/bad/svid.pem")
            let harness = Harness([
                directorySource("good", path: base + "/good"), directorySource("bad", path: base + "/bad"),
            ])
            try await harness.run {
                try await eventually("both evaluated") {
                    let goodValid = await harness.scrape().value("spiffe_x509_svid_valid", ["source": "good"])
                    return harness.errors("bad", .symlinkLoop) >= 1 && goodValid == 1
                }
                try await harness.expectValidExposition()
            }
        }
    }
}

extension DirectorySourceTests {
    @Test("Graceful shutdown of a ServiceGroup stops the collector and its inotify thread")
    func gracefulShutdown() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA()
            try writeHelperFiles(directory, try ca.svid(), ca: ca)
            let harness = Harness([directorySource(path: directory), globSource([directory + "/*.pem"])])
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(services: [harness.collector], logger: quietLogger))
            let running = Task { try await group.run() }
            try await eventually("first loads") {
                harness.statistics(Self.source).loads >= 1 && harness.statistics("certs").loads >= 1
            }
            await group.triggerGracefulShutdown()
            // Returns once the collector has stopped (a hang is caught by the suite's time limit).
            try await running.value
            // Nothing is read any more after shutdown.
            let loads = harness.statistics(Self.source).evaluations
            try writeHelperFiles(directory, try ca.svid(lifetime: 7200), ca: ca)
            #expect(harness.statistics(Self.source).evaluations == loads)
        }
    }
}

/// Reads `path` as nobody (``asNobody(_:)``): a real EACCES even when the tests run as root.
func readAsNobody(_ path: String) async throws -> CertFileLoadReason? {
    try await asNobody {
        if case .failure(let reason) = CertFileReader.read(path, maxSize: 1 << 20) { return reason }
        return nil
    }
}
