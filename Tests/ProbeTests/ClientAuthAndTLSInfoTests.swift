import Foundation
import ExporterTestKit
import NIOSSL
import SPIFFEExporterCollectors
import SPIFFEExporterCore
import TestKit
import Testing

/// The ServerHello scan, on hand-built records.
@Suite struct TLSServerHelloTests {
    /// A handshake record holding the start of a ServerHello with `sessionID` bytes of session id.
    func serverHello(cipher: UInt16, sessionID: Int, recordLength: Int = 200) -> [UInt8] {
        var bytes: [UInt8] = [22, 3, 3, UInt8(recordLength >> 8), UInt8(recordLength & 0xFF)]
        bytes += [2, 0, 0, 100]  // server_hello, length
        bytes += [3, 3]  // legacy_version
        bytes += [UInt8](repeating: 7, count: 32)  // random
        bytes += [UInt8(sessionID)] + [UInt8](repeating: 9, count: sessionID)
        bytes += [UInt8(cipher >> 8), UInt8(cipher & 0xFF), 0]
        return bytes
    }

    @Test func findsTheCipherAfterTheSessionID() {
        #expect(TLSServerHello.scan(serverHello(cipher: 0x1301, sessionID: 32)) == .found(0x1301))
        #expect(TLSServerHello.scan(serverHello(cipher: 0xC02B, sessionID: 0)) == .found(0xC02B))
        #expect(TLSServerHello.cipherName(0x1301) == "TLS_AES_128_GCM_SHA256")
        #expect(TLSServerHello.cipherName(0xC02B) == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
        #expect(TLSServerHello.cipherName(0x00FF) == "0x00FF")
    }

    @Test func waitsForTheWholeHeaderAndRejectsOtherRecords() {
        let whole = serverHello(cipher: 0x1302, sessionID: 32)
        for cut in [0, 1, 5, 6, 43, 44, 76, 77] {
            #expect(TLSServerHello.scan(Array(whole.prefix(cut))) == .needMore, "cut at \(cut)")
        }
        #expect(TLSServerHello.scan(Array("SSH-2.0-OpenSSH\r\n".utf8)) == .notServerHello)
        // An alert record, and a handshake record that is not a ServerHello.
        #expect(TLSServerHello.scan([21, 3, 3, 0, 2, 2, 40]) == .notServerHello)
        #expect(TLSServerHello.scan([22, 3, 3, 0, 4, 11, 0, 0, 0]) == .notServerHello)
        // A session id running past the record.
        #expect(TLSServerHello.scan(serverHello(cipher: 0x1301, sessionID: 32, recordLength: 60)) == .notServerHello)
    }

    @Test func targetOption() throws {
        let target = try ProbeTarget(parsing: "api=10.0.0.5:443,client_auth=required")
        #expect(target.clientAuthRequired)
        #expect(target.description == "api=10.0.0.5:443,client_auth=required")
        #expect(try !ProbeTarget(parsing: "api=api:443").clientAuthRequired)
        #expect(throws: ProbeConfigurationError(.invalidClientAuth, "")) {
            try ProbeTarget(parsing: "api=api:443,client_auth=optional")
        }
        let fromFile = try ProbeTarget(
            name: "api", address: "api:443", spiffeID: nil, serverName: nil, clientAuth: "required")
        #expect(fromFile.clientAuthRequired)
    }
}

/// `client_auth=required` and the TLS details against the test TLS servers, TLS 1.2 and 1.3.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ClientAuthProbeTests {
    func probe(
        serverRequiresClientCertificate: Bool, maximumTLSVersion: TLSVersion?
    ) async throws -> (ProbeResult, Scrape) {
        try await withTemporaryDirectory { directory in
            let clock = ShiftableClock()
            let exporter = ExporterHarness()
            return try await withSimulatorAndCollector(directory: directory, clock: clock, exporter: exporter) {
                simulator in
                let serverDirectory = directory + "/server"
                try FileManager.default.createDirectory(atPath: serverDirectory, withIntermediateDirectories: true)
                try writeSVIDFiles(try simulator.svid(serverID), bundle: [simulator.rootCA], to: serverDirectory)
                let server = try await TestTLSServer.start(
                    directory: serverDirectory, reload: .never,
                    clientRoots: serverRequiresClientCertificate ? [simulator.rootCA.certificate] : nil,
                    maximumTLSVersion: maximumTLSVersion)
                defer { server.stop() }
                let target = ProbeTarget(
                    name: "api", host: "127.0.0.1", port: server.port, spiffeID: serverID, clientAuthRequired: true)
                let collector = ProbeCollector(
                    configuration: ProbeConfiguration(targets: [target], interval: .seconds(30), timeout: .seconds(5)),
                    identities: StoreProbeIdentities(store: exporter.store, board: exporter.board),
                    registry: exporter.registry, logger: quietLogger, clock: clock.now)
                let result = await collector.probe(target)
                // The probe with the exporter's SVID succeeds either way.
                #expect(result.failure == nil, "\(result.detail)")
                return (result, await scrapeProbe(collector, registry: exporter.registry, now: clock.now()))
            }
        }
    }

    @Test(arguments: [TLSVersion.tlsv12, .tlsv13])
    func serverDemandingACertificateIsEnforced(_ version: TLSVersion) async throws {
        let (result, scrape) = try await probe(serverRequiresClientCertificate: true, maximumTLSVersion: version)
        #expect(result.clientAuthEnforced == true)
        #expect(scrape.value("spiffe_probe_client_auth_enforced", ["target": "api"]) == 1)
    }

    @Test(arguments: [TLSVersion.tlsv12, .tlsv13])
    func serverAcceptingAnonymousClientsIsNotEnforced(_ version: TLSVersion) async throws {
        let (result, scrape) = try await probe(serverRequiresClientCertificate: false, maximumTLSVersion: version)
        #expect(result.clientAuthEnforced == false)
        #expect(scrape.value("spiffe_probe_client_auth_enforced", ["target": "api"]) == 0)
    }

    @Test func versionAndCipherAreReported() async throws {
        let (tls12, scrape12) = try await probe(serverRequiresClientCertificate: true, maximumTLSVersion: .tlsv12)
        #expect(tls12.tlsVersion == "TLS 1.2")
        // The test SVIDs carry ECDSA keys.
        let cipher12 = try #require(tls12.tlsCipher)
        #expect(cipher12.hasPrefix("TLS_ECDHE_ECDSA_WITH_"), "\(cipher12)")
        #expect(scrape12.value("spiffe_probe_tls_version_info", ["target": "api", "version": "TLS 1.2"]) == 1)
        #expect(scrape12.value("spiffe_probe_tls_cipher_info", ["target": "api", "cipher": cipher12]) == 1)

        let (tls13, scrape13) = try await probe(serverRequiresClientCertificate: true, maximumTLSVersion: nil)
        #expect(tls13.tlsVersion == "TLS 1.3")
        let cipher13 = try #require(tls13.tlsCipher)
        #expect(
            ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"].contains(cipher13),
            "\(cipher13)")
        #expect(scrape13.value("spiffe_probe_tls_version_info", ["target": "api", "version": "TLS 1.3"]) == 1)
    }
}
