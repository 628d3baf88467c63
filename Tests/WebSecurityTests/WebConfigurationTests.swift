import Foundation
import HummingbirdBcrypt
import SPIFFEExporterHTTP
import TestKit
import Testing

@Suite("Web configuration parsing")
struct WebConfigurationTests {
    /// Cost 4 keeps the tests fast; the format is what matters here.
    static let hash = Bcrypt.hash("secret", cost: 4)

    @Test("A complete exporter-toolkit file parses with every field, paths relative to the file")
    func completeFile() throws {
        let yaml = """
            tls_server_config:
              cert_file: server.pem
              key_file: /etc/exporter/server-key.pem
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.pem
              min_version: TLS13
              max_version: TLS13
              cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
              prefer_server_cipher_suites: false
              client_allowed_sans: [prometheus.example.org]
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=31536000
            basic_auth_users:
              alice: \(Self.hash)
            """
        let config = try WebConfiguration.parse(
            yaml: yaml, file: "/etc/exporter/web.yml", baseDirectory: "/etc/exporter")
        let tls = try #require(config.tlsServer)
        #expect(tls.certFile == "/etc/exporter/server.pem")
        #expect(tls.keyFile == "/etc/exporter/server-key.pem")
        #expect(tls.clientAuthType == .requireAndVerifyClientCert)
        #expect(tls.clientCAFile == "/etc/exporter/ca.pem")
        #expect(tls.minVersion == .tls13)
        #expect(tls.maxVersion == .tls13)
        #expect(tls.cipherSuites == ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"])
        #expect(tls.preferServerCipherSuites == false)
        #expect(tls.clientAllowedSANs == ["prometheus.example.org"])
        #expect(config.httpServer.http2 == false)
        #expect(
            config.httpServer.headers == ["X-Frame-Options": "deny", "Strict-Transport-Security": "max-age=31536000"])
        #expect(config.basicAuthUsers == ["alice": Self.hash])
        #expect(config.spiffeTLS == nil)
        #expect(config.warnings.isEmpty)
        #expect(config.usesTLS)
    }

    @Test("Defaults follow exporter-toolkit: NoClientCert, TLS12..TLS13, http2 on")
    func defaults() throws {
        let config = try WebConfiguration.parse(yaml: "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n")
        let tls = try #require(config.tlsServer)
        #expect(tls.certFile == "./c.pem")
        #expect(tls.clientAuthType == .noClientCert)
        #expect(tls.minVersion == .tls12)
        #expect(tls.maxVersion == .tls13)
        #expect(tls.preferServerCipherSuites)
        #expect(config.httpServer.http2)
        #expect(config.basicAuthUsers.isEmpty)
    }

    @Test("An empty file, or an empty tls_server_config, means plain HTTP without authentication")
    func empty() throws {
        for yaml in ["", "# nothing\n", "tls_server_config:\n", "tls_server_config: {}\nbasic_auth_users:\n"] {
            let config = try WebConfiguration.parse(yaml: yaml)
            #expect(config == WebConfiguration(), "\(yaml)")
            #expect(!config.usesTLS)
        }
    }

    @Test("RequireClientCert is exporter-toolkit's old spelling of RequireAnyClientCert")
    func legacyClientAuthName() throws {
        let config = try WebConfiguration.parse(
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireClientCert\n")
        #expect(config.tlsServer?.clientAuthType == .requireAnyClientCert)
    }

    @Test("Cipher suites Go knows but this server cannot use are dropped with a warning naming the line")
    func unsupportedCipherWarns() throws {
        let yaml = """
            tls_server_config:
              cert_file: c
              key_file: k
              cipher_suites:
                - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
                - TLS_RSA_WITH_RC4_128_SHA
              curve_preferences: [X25519]
            """
        let config = try WebConfiguration.parse(yaml: yaml, file: "web.yml")
        #expect(config.tlsServer?.cipherSuites == ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"])
        #expect(config.warnings.count == 2)
        #expect(config.warnings.contains { $0.hasPrefix("web.yml:6: ") && $0.contains("TLS_RSA_WITH_RC4_128_SHA") })
        #expect(config.warnings.contains { $0.contains("curve_preferences") })
    }

    @Test("spiffe_tls_config: the extension section")
    func spiffeSection() throws {
        let yaml = """
            spiffe_tls_config:
              source: workload_api
              spiffe_id: spiffe://example.org/exporter
              allowed_spiffe_ids: [spiffe://example.org/prometheus]
              allowed_trust_domains: [spiffe://partner.example, monitoring.example]
              min_version: TLS13
            basic_auth_users:
              alice: \(Self.hash)
            """
        let config = try WebConfiguration.parse(yaml: yaml)
        let spiffe = try #require(config.spiffeTLS)
        #expect(spiffe.source == "workload_api")
        #expect(spiffe.spiffeID == "spiffe://example.org/exporter")
        #expect(spiffe.allowedSPIFFEIDs == ["spiffe://example.org/prometheus"])
        #expect(spiffe.allowedTrustDomains == ["partner.example", "monitoring.example"])
        #expect(spiffe.minVersion == .tls13)
        #expect(config.tlsServer == nil)
        #expect(config.usesTLS)
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var code: WebConfigurationError.Code
        var line: Int?
        var message: String
        var testDescription: String { name }
    }

    static let invalidCases: [InvalidCase] = [
        InvalidCase(
            name: "YAML syntax error", yaml: "tls_server_config:\n  cert_file: [unterminated\n", code: .invalidYAML,
            line: 3,
            message: "invalid YAML"),
        InvalidCase(
            name: "duplicate key", yaml: "basic_auth_users: {}\nbasic_auth_users: {}\n", code: .invalidYAML, line: 1,
            message: "duplicate key(s) \"basic_auth_users\""),
        InvalidCase(
            name: "top level is not a mapping", yaml: "- tls_server_config\n", code: .wrongType, line: 1,
            message: "the web configuration must be a mapping, not a list"),
        InvalidCase(
            name: "unknown top-level key", yaml: "http_server_config: {}\ntls_config:\n  cert_file: c\n",
            code: .unknownKey,
            line: 2, message: "unknown key \"tls_config\"; expected one of tls_server_config"),
        InvalidCase(
            name: "unknown key in tls_server_config",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  certfile: x\n",
            code: .unknownKey, line: 4, message: "unknown key \"certfile\" in tls_server_config"),
        InvalidCase(
            name: "unknown key in http_server_config", yaml: "http_server_config:\n  http3: true\n", code: .unknownKey,
            line: 2,
            message: "unknown key \"http3\" in http_server_config"),
        InvalidCase(
            name: "cert_file without key_file", yaml: "tls_server_config:\n  cert_file: c\n", code: .missingValue,
            line: 2,
            message: "missing key_file"),
        InvalidCase(
            name: "key_file without cert_file", yaml: "tls_server_config:\n  key_file: k\n", code: .missingValue,
            line: 2,
            message: "missing cert_file"),
        InvalidCase(
            name: "TLS settings without certificate",
            yaml: "tls_server_config:\n  client_auth_type: RequireAnyClientCert\n",
            code: .missingValue, line: 2, message: "sets client_auth_type but neither cert_file nor key_file"),
        InvalidCase(
            name: "cert_file is a list", yaml: "tls_server_config:\n  cert_file: [a, b]\n  key_file: k\n",
            code: .wrongType,
            line: 2, message: "tls_server_config.cert_file must be a string, not a list"),
        InvalidCase(
            name: "unknown client_auth_type",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: VerifyAlways\n",
            code: .invalidValue,
            line: 4, message: "client_auth_type: invalid value \"VerifyAlways\""),
        InvalidCase(
            name: "unknown min_version",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS14\n",
            code: .invalidValue, line: 4, message: "unknown TLS version \"TLS14\""),
        InvalidCase(
            name: "min_version above max_version",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n  max_version: TLS12\n",
            code: .conflict, line: 4, message: "min_version TLS13 is above max_version TLS12"),
        InvalidCase(
            name: "unknown cipher suite",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_FANCY_CIPHER]\n",
            code: .invalidValue,
            line: 4, message: "unknown cipher \"TLS_FANCY_CIPHER\""),
        InvalidCase(
            name: "prefer_server_cipher_suites not a bool",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  prefer_server_cipher_suites: maybe\n",
            code: .wrongType,
            line: 4, message: "must be true or false"),
        InvalidCase(
            name: "client CA without client auth",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca.pem\n", code: .conflict,
            line: 4,
            message: "Client CA's have been configured without a Client Auth Policy"),
        InvalidCase(
            name: "verifying client auth without client CA",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n",
            code: .missingValue, line: 4, message: "needs client_ca_file"),
        InvalidCase(
            name: "client_allowed_sans without client certificates",
            yaml: "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_allowed_sans: [a.example]\n",
            code: .conflict,
            line: 4, message: "client_allowed_sans needs a client_auth_type"),
        InvalidCase(
            name: "header outside the allow-list", yaml: "http_server_config:\n  headers:\n    X-Powered-By: swift\n",
            code: .invalidValue, line: 3, message: "HTTP header \"X-Powered-By\" can not be configured"),
        InvalidCase(
            name: "header value outside its vocabulary",
            yaml: "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", code: .invalidValue, line: 3,
            message: "invalid value for X-Content-Type-Options. Expected one of: \"nosniff\", but got: \"sniff\""),
        InvalidCase(
            name: "http2 not a bool", yaml: "http_server_config:\n  http2: sometimes\n", code: .wrongType, line: 2,
            message: "http_server_config.http2 must be true or false"),
        InvalidCase(
            name: "basic_auth_users is a list", yaml: "basic_auth_users:\n  - alice\n", code: .wrongType, line: 2,
            message: "basic_auth_users must be a mapping, not a list"),
        InvalidCase(
            name: "plain-text password instead of a bcrypt hash", yaml: "basic_auth_users:\n  alice: hunter2\n",
            code: .invalidValue, line: 2, message: "basic_auth_users.alice: not a bcrypt hash"),
        InvalidCase(
            name: "user name with a colon", yaml: "basic_auth_users:\n  \"al:ice\": \(hash)\n", code: .invalidValue,
            line: 2,
            message: "contains ':'"),
        InvalidCase(
            name: "both TLS sections",
            yaml:
                "tls_server_config:\n  cert_file: c\n  key_file: k\n"
                + "spiffe_tls_config:\n  allowed_trust_domains: [example.org]\n",
            code: .conflict, line: 2, message: "tls_server_config and spiffe_tls_config cannot both be set"),
        InvalidCase(
            name: "spiffe_tls_config allowing nobody", yaml: "spiffe_tls_config:\n  source: workload_api\n",
            code: .missingValue,
            line: 2, message: "needs allowed_spiffe_ids or allowed_trust_domains"),
        InvalidCase(
            name: "malformed allowed SPIFFE ID",
            yaml:
                "spiffe_tls_config:\n  allowed_spiffe_ids:\n    - spiffe://example.org/ok\n"
                + "    - https://example.org/x\n",
            code: .invalidValue, line: 4, message: "\"https://example.org/x\" is not a SPIFFE ID"),
        InvalidCase(
            name: "trust domain ID among allowed SPIFFE IDs",
            yaml: "spiffe_tls_config:\n  allowed_spiffe_ids: [spiffe://example.org]\n", code: .invalidValue, line: 2,
            message: "use allowed_trust_domains"),
        InvalidCase(
            name: "malformed trust domain", yaml: "spiffe_tls_config:\n  allowed_trust_domains: [Example.ORG]\n",
            code: .invalidValue, line: 2, message: "\"Example.ORG\" is not a trust domain"),
        InvalidCase(
            name: "unknown key in spiffe_tls_config",
            yaml: "spiffe_tls_config:\n  allowed_trust_domains: [example.org]\n  allowed_ids: []\n", code: .unknownKey,
            line: 3,
            message: "unknown key \"allowed_ids\" in spiffe_tls_config"),
        InvalidCase(
            name: "spiffe_tls_config below TLS 1.2",
            yaml: "spiffe_tls_config:\n  allowed_trust_domains: [example.org]\n  min_version: TLS11\n",
            code: .invalidValue,
            line: 3, message: "must be TLS12 or TLS13"),
    ]

    @Test("Each invalid configuration is refused with a located, explanatory error", arguments: invalidCases)
    func invalid(_ testCase: InvalidCase) throws {
        do {
            let config = try WebConfiguration.parse(yaml: testCase.yaml, file: "web.yml")
            Issue.record("accepted: \(config)")
        } catch {
            #expect(error.code == testCase.code, "\(error)")
            if let line = testCase.line {
                #expect(error.line == line, "\(error)")
                #expect(error.description.hasPrefix("web.yml:\(line):"), "\(error)")
            }
            #expect(error.file == "web.yml")
            #expect(error.message.contains(testCase.message), "\(error.message)")
        }
    }

    @Test("load(path:) reads the file, names it in errors, and resolves paths next to it")
    func loadFromFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/web.yml"
            try write("tls_server_config:\n  cert_file: tls/c.pem\n  key_file: tls/k.pem\n", to: path)
            let config = try WebConfiguration.load(path: path)
            #expect(config.tlsServer?.certFile == directory + "/tls/c.pem")

            try write("basic_auth_users:\n  bob: nope\n", to: path)
            let error = #expect(throws: WebConfigurationError.self) { try WebConfiguration.load(path: path) }
            #expect(error?.description.hasPrefix("\(path):2:") == true, "\(String(describing: error))")

            let missing = #expect(throws: WebConfigurationError.self) {
                try WebConfiguration.load(path: directory + "/absent.yml")
            }
            #expect(missing?.code == .unreadable)
            #expect(missing?.description.contains("absent.yml") == true)
        }
    }

    @Test("TLS files that do not load fail WebSecurity at startup, naming the file")
    func badTLSFiles() async throws {
        try await withTemporaryDirectory { directory in
            let ca = try TestCA.live()
            let (cert, key) = try writeCredentials(try ca.server(), directory: directory, name: "server")
            let other = try writeCredentials(try ca.server(), directory: directory, name: "other")
            let cases: [(TLSServerConfiguration, String)] = [
                (
                    TLSServerConfiguration(certFile: directory + "/absent.pem", keyFile: key),
                    "cert_file \(directory)/absent.pem"
                ),
                (TLSServerConfiguration(certFile: key, keyFile: key), "holds no CERTIFICATE block"),
                (TLSServerConfiguration(certFile: cert, keyFile: cert), "key_file"),
                // A key that is not the certificate's.
                (TLSServerConfiguration(certFile: cert, keyFile: other.key), "cannot be used"),
                (
                    TLSServerConfiguration(
                        certFile: cert, keyFile: key, clientAuthType: .requireAndVerifyClientCert, clientCAFile: key),
                    "client_ca_file"
                ),
            ]
            for (tls, fragment) in cases {
                let error = #expect(throws: WebConfigurationError.self) {
                    try WebSecurity(configuration: WebConfiguration(tlsServer: tls), logger: quietLogger)
                }
                #expect(error?.code == .badTLSFile)
                #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
            }
        }
    }

    @Test("spiffe_tls_config without an identity source is refused")
    func spiffeNeedsIdentities() throws {
        let config = WebConfiguration(spiffeTLS: SPIFFETLSConfiguration(allowedTrustDomains: ["example.org"]))
        #expect(throws: WebConfigurationError.self) { try WebSecurity(configuration: config, logger: quietLogger) }
    }

    @Test("The web configuration examples in docs/web-configuration.md parse")
    func documentedExamples() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/web-configuration.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let blocks = text.components(separatedBy: "```yaml\n").dropFirst().compactMap {
            $0.components(separatedBy: "```").first
        }
        let webBlocks = blocks.filter { block in
            ["tls_server_config:", "spiffe_tls_config:", "basic_auth_users:"].contains { block.hasPrefix($0) }
        }
        #expect(webBlocks.count == 2)
        for block in webBlocks {
            let config = try WebConfiguration.parse(yaml: block, file: "docs/web-configuration.md")
            #expect(config.usesTLS, "\(block)")
        }
    }
}
