import Foundation
import TestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `/probe` and `check --probe.target …,starttls=` through the built binary.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ProbeEndpointEndToEndTests {
    /// The config file's allow-list and modules apply to /probe, and a reload changes them without
    /// a restart.
    @Test func allowListAndModulesFromTheConfigFileAndReload() async throws {
        try await withTemporaryDirectory { dir in
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { demo in
                let socket = try await OperatorTests.demoSocket(demo)
                let config = dir + "/config.yml"
                func write(allowed: String) throws {
                    try """
                    workload_api:
                      - address: unix://\(socket)
                    web:
                      listen_address: 127.0.0.1:0
                    probe:
                      allowed_targets: ["\(allowed)"]
                    probe_modules:
                      quick:
                        timeout: 1s
                    """.write(toFile: config, atomically: true, encoding: .utf8)
                }
                try write(allowed: "127.0.0.1:*")
                try await withExporter(["--config.file", config]) { exporter in
                    let base = "http://\(try await EndToEndTests.listeningAddress(exporter))"
                    // Nothing listens on port 1: probed, and failing.
                    let probed = try await httpGet(base + "/probe?target=127.0.0.1:1&module=quick")
                    #expect(probed.status == 200, "\(probed.body)")
                    #expect(Scrape(text: probed.body).value("spiffe_probe_success", ["target": "127.0.0.1:1"]) == 0)
                    let denied = try await httpGet(base + "/probe?target=localhost:1&module=quick")
                    #expect(denied.status == 403, "\(denied.body)")
                    #expect(denied.body.contains("probe.allowed_targets"))
                    let unknown = try await httpGet(base + "/probe?target=127.0.0.1:1&module=slow")
                    #expect(unknown.status == 400)

                    try write(allowed: "localhost:*")
                    let reload = try await runTool("/usr/bin/env", ["curl", "-sS", "-X", "POST", base + "/-/reload"])
                    #expect(String(decoding: reload.stdout, as: UTF8.self) == "config reloaded\n")
                    #expect(try await httpGet(base + "/probe?target=localhost:1&module=quick").status == 200)
                    #expect(try await httpGet(base + "/probe?target=127.0.0.1:1&module=quick").status == 403)

                    let metrics = Scrape(text: try await httpGet(base + "/metrics").body)
                    #expect(metrics.value("spiffe_probe_endpoint_requests_total", ["outcome": "probed"]) == 2)
                    #expect(metrics.value("spiffe_probe_endpoint_requests_total", ["outcome": "not_allowed"]) == 2)
                    #expect(metrics.value("spiffe_probe_endpoint_requests_total", ["outcome": "bad_request"]) == 1)
                    #expect(metrics.value("spiffe_probe_endpoint_requests_total", ["outcome": "too_many"]) == 0)
                }
            }
        }
    }

    /// `check` speaks SMTP before TLS; a server whose EHLO lists no STARTTLS is reported as such.
    @Test func checkWithStartTLSReportsARefusal() async throws {
        try await withTemporaryDirectory { dir in
            try await withExporter(["demo", "--web.listen-address", "127.0.0.1:0"]) { demo in
                let socket = try await OperatorTests.demoSocket(demo)
                let (server, port) = try await Self.smtpWithoutStartTLS(dir)
                defer {
                    // SIGKILL: the test process ignores SIGTERM, and a child inherits that.
                    kill(server.processIdentifier, SIGKILL)
                    server.waitUntilExit()
                }
                let check = try await runTool(
                    try exporterBinary().path,
                    ["check", "--address", "unix://\(socket)", "--probe.target", "mx=127.0.0.1:\(port),starttls=smtp"])
                let output = String(decoding: check.stdout, as: UTF8.self)
                #expect(check.status != 0, "\(output)")
                #expect(output.contains("probe:mx"), "\(output)")
                #expect(output.contains("starttls_refused"), "\(output)")
            }
        }
    }

    /// A one-connection-at-a-time SMTP server (Python) whose EHLO offers no STARTTLS.
    static func smtpWithoutStartTLS(_ dir: String) async throws -> (Process, Int) {
        let script = """
            import socket, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0)); s.listen(5)
            open(sys.argv[1], "w").write(str(s.getsockname()[1]))
            while True:
                c, _ = s.accept()
                f = c.makefile("rb")
                c.sendall(b"220 mx.test ESMTP\\r\\n")
                for line in f:
                    if line.upper().startswith(b"EHLO"):
                        c.sendall(b"250-mx.test\\r\\n250 PIPELINING\\r\\n")
                    elif line.upper().startswith(b"QUIT"):
                        break
                    else:
                        c.sendall(b"502 5.5.2 no\\r\\n")
                c.close()
            """
        let portFile = dir + "/smtp.port"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, portFile]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let port = try await eventually("the SMTP server writes its port") {
            (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
        }
        return (process, port)
    }
}
