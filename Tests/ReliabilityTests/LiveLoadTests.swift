import Foundation
import SVIDFactory
import TestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The quick, CI-sized version of scripts/load-test.sh: a live exporter with 300 identities keeps
/// answering scrapes while 100 idle connections are held open and a client reads its scrape 1 byte
/// at a time. (The full run — 1,000 identities, wrk, 1,000 idle connections — is in docs/reliability.md.)
@Suite("Live load (quick)", .timeLimit(.minutes(1)))
struct LiveLoadTests {
    /// A blocking TCP connection to 127.0.0.1:port, closed on deinit.
    final class Connection {
        let fd: Int32

        init?(port: Int) {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                close(fd)
                return nil
            }
        }

        func send(_ text: String) { _ = text.withCString { Glibc.send(fd, $0, strlen($0), 0) } }

        func readByte() -> Bool {
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, 0) == 1
        }

        deinit { close(fd) }
    }

    @Test("100 idle connections and a 1-byte reader do not stop or slow other scrapes")
    func idleAndSlowClients() async throws {
        try await withTemporaryDirectory { directory in
            let now = Date()
            let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now - 60, notAfter: now + 86400)
            let identities = 300
            for index in 0..<identities {
                let svid = try SVIDFactory.svid(
                    spiffeID: "spiffe://example.org/load/w\(index)", issuer: root, notBefore: now - 60,
                    notAfter: now + 3600 + Double(index))
                try Data(SVIDFactory.pem("CERTIFICATE", SVIDFactory.der(svid.leaf)).utf8)
                    .write(to: URL(fileURLWithPath: "\(directory)/w\(index).pem"))
            }
            try await withExporter([
                "--web.listen-address", "127.0.0.1:0", "--no-collector.workload-api",
                "--collector.cert-files.glob", "load=\(directory)/*.pem",
            ]) { exporter in
                let groups = try await eventually("the exporter listens\n\(exporter.transcript)") {
                    try captures(#"msg=listening .*address=([0-9.]+):([0-9]+)"#, in: exporter.stderr)
                }
                let port = try #require(Int(groups[1]))
                let url = "http://127.0.0.1:\(port)/metrics"
                try await eventually("all identities are exported") {
                    let text = try await httpGet(url).body
                    return text.components(separatedBy: "\nspiffe_certificate_expiry_timestamp_seconds{").count - 1
                        == identities
                }

                let idle = (0..<100).compactMap { _ in Connection(port: port) }
                #expect(idle.count == 100)
                let slow = try #require(Connection(port: port))
                slow.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(slow.readByte())

                let clock = ContinuousClock()
                for _ in 0..<10 {
                    let started = clock.now
                    let result = try await httpGet(url)
                    #expect(result.status == 200)
                    #expect(result.body.hasSuffix("\n") && result.body.contains("/w299.pem\""))
                    #expect(clock.now - started < .seconds(3), "a scrape took \(clock.now - started)")
                }
                #expect(slow.readByte(), "the slow reader's response is still being served")
                withExtendedLifetime(idle) {}
            }
        }
    }
}
