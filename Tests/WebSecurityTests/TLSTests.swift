import Foundation
import HummingbirdBcrypt
import SPIFFEExporterCore
import SPIFFEExporterHTTP
import SVIDFactory
import TestKit
import Testing

/// Real TLS on 127.0.0.1 with a live server, checked with curl.
@Suite("TLS with certificate files", .timeLimit(.minutes(2)))
struct TLSTests {
    /// The files of one test: CA, server credentials and web.yml in a temporary directory.
    struct Setup {
        let directory: String
        let ca: TestCA
        var caFile: String { directory + "/ca.pem" }
        var webFile: String { directory + "/web.yml" }

        init(directory: String, serverCA: TestCA? = nil) throws {
            self.directory = directory
            ca = try serverCA ?? TestCA.live()
            try write(ca.pem, to: directory + "/ca.pem")
            try writeCredentials(try ca.server(), directory: directory, name: "server")
        }

        func security(_ yaml: String, reloadCheckInterval: Duration = .seconds(5)) throws -> WebSecurity {
            try write(yaml, to: webFile)
            return try WebSecurity(file: webFile, logger: quietLogger, reloadCheckInterval: reloadCheckInterval)
        }
    }

    @Test("TLS + basic auth: curl with the CA and -u gets /metrics; wrong or missing credentials get 401")
    func tlsWithBasicAuth() async throws {
        try await withTemporaryDirectory { directory in
            let setup = try Setup(directory: directory)
            let hash = Bcrypt.hash("s3cret", cost: 4)
            let security = try setup.security(
                """
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                basic_auth_users:
                  prometheus: \(hash)
                """)
            #expect(security.scheme == "https")
            try await withLiveServer(security: security) { port in
                let ok = try await curl(
                    port: port, cacert: setup.caFile, user: "prometheus:s3cret", directory: directory)
                #expect(ok.exitStatus == 0, "\(ok)")
                #expect(ok.httpCode == 200, "\(ok)")
                #expect(ok.body == StubMetrics.body)

                let wrong = try await curl(
                    port: port, cacert: setup.caFile, user: "prometheus:guess", directory: directory)
                #expect(wrong.httpCode == 401, "\(wrong)")
                let anonymous = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(anonymous.httpCode == 401, "\(anonymous)")
                let unknown = try await curl(
                    port: port, cacert: setup.caFile, user: "root:s3cret", directory: directory)
                #expect(unknown.httpCode == 401, "\(unknown)")

                // A client that does not trust the CA refuses the server.
                let otherCA = try TestCA.live()
                try write(otherCA.pem, to: directory + "/other-ca.pem")
                let untrusted = try await curl(
                    port: port, cacert: directory + "/other-ca.pem", user: "prometheus:s3cret", directory: directory)
                #expect(untrusted.exitStatus != 0 && untrusted.httpCode == 0, "\(untrusted)")

                // Plain HTTP on the TLS port gets no HTTP answer.
                let plain = try await curl(
                    port: port, cacert: nil, user: "prometheus:s3cret", scheme: "http", directory: directory)
                #expect(plain.httpCode != 200, "\(plain)")
            }
        }
    }

    @Test(
        "mTLS RequireAndVerifyClientCert: a client certificate from client_ca_file passes; none or another CA's fails")
    func mutualTLS() async throws {
        try await withTemporaryDirectory { directory in
            let setup = try Setup(directory: directory)
            let clientCA = try TestCA.live(trustDomain: "clients.example")
            try write(clientCA.pem, to: directory + "/client-ca.pem")
            let good = try writeCredentials(
                try clientCA.client(path: "/prometheus"), directory: directory, name: "good")
            let stranger = try writeCredentials(
                try TestCA.live(trustDomain: "clients.example").client(path: "/prometheus"),
                directory: directory, name: "stranger")
            let security = try setup.security(
                """
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                  client_auth_type: RequireAndVerifyClientCert
                  client_ca_file: client-ca.pem
                  min_version: TLS12
                """)
            try await withLiveServer(security: security) { port in
                let ok = try await curl(port: port, cacert: setup.caFile, clientCert: good, directory: directory)
                #expect(ok.httpCode == 200, "\(ok)")
                #expect(ok.body == StubMetrics.body)

                let none = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(none.exitStatus != 0 && none.httpCode == 0, "handshake must fail: \(none)")
                let wrong = try await curl(port: port, cacert: setup.caFile, clientCert: stranger, directory: directory)
                #expect(wrong.exitStatus != 0 && wrong.httpCode == 0, "handshake must fail: \(wrong)")
            }
        }
    }

    @Test("client_allowed_sans: a verified client must also carry an allowed SAN")
    func allowedSANs() async throws {
        try await withTemporaryDirectory { directory in
            let setup = try Setup(directory: directory)
            let clientCA = try TestCA.live(trustDomain: "clients.example")
            try write(clientCA.pem, to: directory + "/client-ca.pem")
            let allowed = try writeCredentials(
                try clientCA.client(path: "/prometheus", dnsNames: ["prometheus.example.org"]), directory: directory,
                name: "allowed")
            let other = try writeCredentials(
                try clientCA.client(path: "/grafana", dnsNames: ["grafana.example.org"]), directory: directory,
                name: "other")
            let byURI = try writeCredentials(try clientCA.client(path: "/federate"), directory: directory, name: "uri")
            let security = try setup.security(
                """
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                  client_auth_type: RequireAndVerifyClientCert
                  client_ca_file: client-ca.pem
                  client_allowed_sans: [prometheus.example.org, "spiffe://clients.example/federate"]
                """)
            try await withLiveServer(security: security) { port in
                let ok = try await curl(port: port, cacert: setup.caFile, clientCert: allowed, directory: directory)
                #expect(ok.httpCode == 200, "\(ok)")
                let uri = try await curl(port: port, cacert: setup.caFile, clientCert: byURI, directory: directory)
                #expect(uri.httpCode == 200, "\(uri)")
                let refused = try await curl(port: port, cacert: setup.caFile, clientCert: other, directory: directory)
                #expect(refused.exitStatus != 0 && refused.httpCode == 0, "handshake must fail: \(refused)")
            }
        }
    }

    @Test("RequireAnyClientCert: any certificate is enough, none is not")
    func requireAny() async throws {
        try await withTemporaryDirectory { directory in
            let setup = try Setup(directory: directory)
            let anyClient = try writeCredentials(
                try TestCA.live().client(path: "/anyone"), directory: directory, name: "any")
            let security = try setup.security(
                """
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                  client_auth_type: RequireAnyClientCert
                """)
            try await withLiveServer(security: security) { port in
                let ok = try await curl(port: port, cacert: setup.caFile, clientCert: anyClient, directory: directory)
                #expect(ok.httpCode == 200, "\(ok)")
                let none = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(none.exitStatus != 0 && none.httpCode == 0, "handshake must fail: \(none)")
            }
        }
    }

    @Test("Rewritten certificate files are served to new connections without a restart; broken ones are not")
    func reload() async throws {
        try await withTemporaryDirectory { directory in
            let setup = try Setup(directory: directory)
            let first = try setup.ca.server()
            try writeCredentials(first, directory: directory, name: "server")
            let security = try setup.security(
                """
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                """, reloadCheckInterval: .zero)
            try await withLiveServer(security: security) { port in
                let before = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(before.httpCode == 200, "\(before)")
                #expect(before.servedLeafDER == SVIDFactory.der(first.leaf), "serves the first certificate")

                // A renewal by a cert manager: new key and certificate, swapped in by rename.
                let second = try setup.ca.server()
                #expect(second.leaf.serialNumber != first.leaf.serialNumber)
                try replace(directory + "/server-key.pem", with: second.keyPEM)
                try replace(directory + "/server.pem", with: second.chainPEM)
                let after = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(after.httpCode == 200, "\(after)")
                #expect(after.servedLeafDER == SVIDFactory.der(second.leaf), "new connections see the new serial")

                // Rewritten in place, as os.WriteFile does, by a new CA.
                let newCA = try TestCA.live()
                let third = try newCA.server()
                try write(newCA.pem, to: setup.caFile)
                try write(third.chainPEM, to: directory + "/server.pem")
                try write(third.keyPEM, to: directory + "/server-key.pem")
                let rewritten = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(rewritten.servedLeafDER == SVIDFactory.der(third.leaf), "\(rewritten)")

                // A half-written or wrong key keeps the last good certificate in service.
                try write("-----BEGIN PRIVATE KEY-----\ngarbage\n", to: directory + "/server-key.pem")
                let kept = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(kept.httpCode == 200, "\(kept)")
                #expect(kept.servedLeafDER == SVIDFactory.der(third.leaf))
            }
        }
    }

    @Test("Without reload interval elapsed, the files are not even looked at")
    func reloadIsRateLimited() async throws {
        try await withTemporaryDirectory { directory in
            let setup = try Setup(directory: directory)
            let first = try setup.ca.server()
            try writeCredentials(first, directory: directory, name: "server")
            let security = try setup.security(
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n",
                reloadCheckInterval: .seconds(3600))
            try await withLiveServer(security: security) { port in
                try writeCredentials(try setup.ca.server(), directory: directory, name: "server")
                let result = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(result.servedLeafDER == SVIDFactory.der(first.leaf))
            }
        }
    }

    @Test("VerifyClientCertIfGiven: no certificate is fine, an unverifiable one is not")
    func verifyIfGiven() async throws {
        try await withTemporaryDirectory { directory in
            let setup = try Setup(directory: directory)
            let clientCA = try TestCA.live(trustDomain: "clients.example")
            try write(clientCA.pem, to: directory + "/client-ca.pem")
            let good = try writeCredentials(
                try clientCA.client(path: "/prometheus"), directory: directory, name: "good")
            let stranger = try writeCredentials(
                try TestCA.live(trustDomain: "clients.example").client(path: "/prometheus"), directory: directory,
                name: "stranger")
            let security = try setup.security(
                """
                tls_server_config:
                  cert_file: server.pem
                  key_file: server-key.pem
                  client_auth_type: VerifyClientCertIfGiven
                  client_ca_file: client-ca.pem
                """)
            try await withLiveServer(security: security) { port in
                let none = try await curl(port: port, cacert: setup.caFile, directory: directory)
                #expect(none.httpCode == 200, "\(none)")
                let ok = try await curl(port: port, cacert: setup.caFile, clientCert: good, directory: directory)
                #expect(ok.httpCode == 200, "\(ok)")
                let wrong = try await curl(port: port, cacert: setup.caFile, clientCert: stranger, directory: directory)
                #expect(wrong.exitStatus != 0 && wrong.httpCode == 0, "handshake must fail: \(wrong)")
            }
        }
    }
}
