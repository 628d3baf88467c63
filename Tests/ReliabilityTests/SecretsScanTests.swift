import ExporterTestKit
import Foundation
import SVIDFactory
import TestKit
import Testing
import WorkloadAPISimulator

/// Every spelling under which a private key or a JWT could leak into an output.
struct Secrets {
    var strings: [String] = []
    var binaries: [[UInt8]] = []

    /// PKCS#8 DER (raw bytes, hex, base64, PEM body lines) and the bare EC private scalar (raw, hex,
    /// base64, base64url as a JWK `d` would carry it).
    mutating func add(key svid: IssuedSVID) {
        let der = svid.keyPKCS8DER
        var secrets = [der]
        // SEC1 ECPrivateKey inside PKCS#8: 02 01 01 04 <len> <scalar>.
        let marker: [UInt8] = [0x02, 0x01, 0x01, 0x04]
        if let start = (0..<(der.count - marker.count - 1)).first(where: { Array(der[$0..<($0 + 4)]) == marker }) {
            let length = Int(der[start + 4])
            if start + 5 + length <= der.count { secrets.append(Array(der[(start + 5)..<(start + 5 + length)])) }
        }
        for secret in secrets {
            binaries.append(secret)
            let hex = secret.map { String(format: "%02x", $0) }.joined()
            let base64 = Data(secret).base64EncodedString()
            strings += [hex, hex.uppercased(), String(base64.dropFirst(4).prefix(32))]
            // As a Swift/JSON byte array would print it.
            strings.append(secret.prefix(12).map(String.init).joined(separator: ", "))
            strings.append(String(base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .dropFirst(4).prefix(32)))
        }
        strings += svid.keyPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count > 16 }.map(String.init)
    }

    /// The whole token and its signature segment (the header and claims alone are not secret).
    mutating func add(token: String) {
        strings.append(token)
        if let signature = token.split(separator: ".").last, signature.count > 16 { strings.append(String(signature)) }
    }

    /// The secrets found in `output`, described (never the secret itself).
    func leaks(in output: Data) -> [String] {
        let text = String(decoding: output, as: UTF8.self)
        var found: [String] = []
        for (index, secret) in strings.enumerated() where text.contains(secret) { found.append("string #\(index)") }
        for (index, secret) in binaries.enumerated() where output.range(of: Data(secret)) != nil {
            found.append("binary #\(index)")
        }
        return found
    }
}

@Suite("Secrets never leave the process", .timeLimit(.minutes(1)))
struct SecretsScanTests {
    @Test("the spellings catch a leaked key and token")
    func spellingsCatchLeaks() throws {
        let now = Date()
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now, notAfter: now + 60)
        let svid = try SVIDFactory.svid(spiffeID: "spiffe://example.org/w", issuer: root, notBefore: now, notAfter: now + 60)
        var secrets = Secrets()
        secrets.add(key: svid)
        secrets.add(token: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU")
        let leaks = [
            Data(svid.keyPEM.utf8), Data(svid.keyPKCS8DER), Data("\(svid.keyPKCS8DER)".utf8),
            Data(svid.keyPKCS8DER.map { String(format: "%02x", $0) }.joined().utf8),
            Data(Data(svid.keyPKCS8DER).base64EncodedString().utf8),
            Data("token=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU".utf8),
        ]
        for leak in leaks {
            #expect(!secrets.leaks(in: leak).isEmpty, "undetected: \(leak.prefix(40))")
        }
        #expect(secrets.leaks(in: Data(svid.chainPEM.utf8)).isEmpty, "the certificate is public")
    }

    @Test("no key or JWT in /metrics, /status (HTML, JSON), check (table, JSON) or debug logs")
    func scanEveryOutput() async throws {
        try await withTemporaryDirectory { directory in
            // A Workload API (X.509 and JWT) and a spiffe-helper directory, each with its own key.
            var configuration = SimulatorConfiguration(
                socketPath: directory + "/agent.sock",
                spiffeIDs: ["spiffe://example.org/ns/a/sa/web", "spiffe://example.org/ns/b/sa/db"])
            configuration.jwtTTL = 3600
            let simulator = try WorkloadAPISimulator(configuration: configuration)
            try await simulator.start()
            do {
                try await Self.scan(simulator: simulator, directory: directory)
                await simulator.stop()
            } catch {
                await simulator.stop()
                throw error
            }
        }
    }

    static func scan(simulator: WorkloadAPISimulator, directory: String) async throws {
        let configuration = simulator.configuration
        let helperDirectory = directory + "/helper"
        let now = Date()
        let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: now - 60, notAfter: now + 7200)
        let helperSVID = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/helper", issuer: root, notBefore: now - 60, notAfter: now + 3600)
        try FileManager.default.createDirectory(atPath: helperDirectory, withIntermediateDirectories: true)
        try Data(helperSVID.chainPEM.utf8).write(to: URL(fileURLWithPath: helperDirectory + "/svid.pem"))
        try Data(helperSVID.keyPEM.utf8).write(to: URL(fileURLWithPath: helperDirectory + "/svid_key.pem"))
        try Data(SVIDFactory.pem("CERTIFICATE", root.der).utf8)
            .write(to: URL(fileURLWithPath: helperDirectory + "/svid_bundle.pem"))

        let address = "unix://" + configuration.socketPath
        var outputs: [(String, Data)] = []
        try await withExporter([
            "--web.listen-address", "127.0.0.1:0", "--log.level", "debug",
            "--collector.workload-api.address", address, "--collector.workload-api.jwt-audience", "x",
            "--collector.cert-files.dir", "helper=" + helperDirectory,
        ]) { exporter in
            let groups = try await eventually("the exporter listens\n\(exporter.transcript)") {
                try captures(#"msg=listening .*address=([0-9.]+):([0-9]+)"#, in: exporter.stderr)
            }
            let base = "http://\(groups[0]):\(groups[1])"
            try await eventually("both sources and the JWT-SVID are exported") {
                let text = try await httpGet(base + "/metrics").body
                return text.contains("spiffe://example.org/helper") && text.contains("spiffe_jwt_svid")
                    && text.contains("spiffe://example.org/ns/b/sa/db")
            }
            for path in ["/metrics", "/status", "/status?format=json", "/readyz", "/"] {
                outputs.append((path, Data(try await httpGet(base + path).body.utf8)))
            }
            let binary = try exporterBinary().path
            for format in ["table", "json"] {
                let check = try await runTool(binary, [
                    "check", "--address", address, "--jwt-audience", "x", "--dir", helperDirectory, "--output", format,
                ])
                outputs.append(("check \(format) stdout", check.stdout))
                outputs.append(("check \(format) stderr", Data(check.stderr.utf8)))
                #expect(!check.stdout.isEmpty)
            }
            exporter.signal(SIGTERM)
            _ = try await exporter.waitForExit()
            outputs.append(("exporter stdout", Data(exporter.stdout.utf8)))
            outputs.append(("exporter debug log", Data(exporter.stderr.utf8)))
            #expect(exporter.stderr.contains("level=debug"), "debug logging was on")
        }

        var secrets = Secrets()
        secrets.add(key: helperSVID)
        for svid in simulator.currentSVIDs { secrets.add(key: svid) }
        let tokens = simulator.jwtSVIDs(audience: ["x"], spiffeID: "")
        #expect(tokens.count == 2)
        for token in tokens { secrets.add(token: token.token) }
        #expect(secrets.strings.count > 10)
        for (name, output) in outputs {
            #expect(secrets.leaks(in: output).isEmpty, "secret found in \(name)")
        }
    }
}
