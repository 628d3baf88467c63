import ExporterTestKit
import Foundation
import SVIDFactory
import TestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The CI part of scripts/load-test.sh: a live exporter with 1,000 identities keeps answering
/// scrapes while 1,000 idle connections are held open and a client reads its scrape 1 byte at a
/// time. The wrk run at 200 requests/s is WrkLoadTests.
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

    /// Lifts the soft descriptor limit (the exporter inherits it) towards `wanted`; returns the limit.
    static func raiseDescriptorLimit(to wanted: rlim_t) -> rlim_t {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return 0 }
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            _ = setrlimit(resource, &limit)
            _ = getrlimit(resource, &limit)
        }
        return limit.rlim_cur
    }

    @Test("1,000 identities: 1,000 idle connections and a 1-byte reader do not stop or slow other scrapes")
    func idleAndSlowClients() async throws {
        // 1,000 unless the hard descriptor limit is below ~1,200 (then as many as fit, and said so).
        let limit = Self.raiseDescriptorLimit(to: 4096)
        let idleConnections = min(1000, Int(limit) - 200)
        try #require(idleConnections >= 100, "descriptor limit \(limit) is too low for an idle-connection test")
        if idleConnections < 1000 {
            print("LiveLoadTests: descriptor limit \(limit) allows only \(idleConnections) idle connections")
        }
        try await withTemporaryDirectory { directory in
            let now = Date()
            let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now - 60, notAfter: now + 86400)
            let identities = 1000
            // Certificate generation is CPU work: keep it off the concurrency pool.
            let written: Result<Void, any Error> = await offloaded {
                Result {
                    for index in 0..<identities {
                        let svid = try SVIDFactory.svid(
                            spiffeID: "spiffe://example.org/load/w\(index)", issuer: root, notBefore: now - 60,
                            notAfter: now + 3600 + Double(index))
                        try Data(SVIDFactory.pem("CERTIFICATE", SVIDFactory.der(svid.leaf)).utf8)
                            .write(to: URL(fileURLWithPath: "\(directory)/w\(index).pem"))
                    }
                }
            }
            try written.get()
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

                let idle = (0..<idleConnections).compactMap { _ in Connection(port: port) }
                #expect(idle.count == idleConnections)
                let slow = try #require(Connection(port: port))
                slow.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(slow.readByte())

                // Every scrape completes while the idle and slow connections are held (how fast is
                // measured by scripts/load-test.sh and the wrk test, not asserted here).
                for _ in 0..<10 {
                    let result = try await httpGet(url)
                    #expect(result.status == 200)
                    #expect(result.body.hasSuffix("\n") && result.body.contains("/w999.pem\""))
                }
                #expect(slow.readByte(), "the slow reader's response is still being served")
                withExtendedLifetime(idle) {}
            }
        }
    }
}
