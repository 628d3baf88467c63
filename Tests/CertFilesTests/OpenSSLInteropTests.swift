import ExporterTestKit
import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import X509

/// Certificates and keys made by the `openssl` CLI, not by our own factory: what a user's own PKI
/// tooling writes must analyse the same way, and OpenSSL's chain verdicts must agree with ours.
@Suite(.serialized) struct OpenSSLInteropTests {
    static let openssl = "/usr/bin/openssl"

    enum Algorithm: String, CaseIterable, Sendable {
        case p256, p384, ed25519, rsa2048

        var genpkey: [String] {
            switch self {
            case .p256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            case .p384: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
            case .ed25519: ["-algorithm", "ED25519"]
            case .rsa2048: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
            }
        }
    }

    /// A root CA and tools to issue from it with `openssl ca`, whose -startdate/-enddate pin the
    /// validity to ``referenceTime`` (`openssl x509 -req` can only count days from now).
    struct OpenSSLCA {
        let dir: String
        let algorithm: Algorithm

        static func asn1Time(_ date: Date) -> String {
            // RFC3339 "2030-01-01T00:00:00Z" → "20300101000000Z"
            RFC3339.string(from: date).filter { $0.isNumber || $0 == "Z" }
        }

        func run(_ arguments: [String]) async throws -> ToolResult {
            let result = try await runTool(OpenSSLInteropTests.openssl, arguments)
            try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.stderr)")
            return result
        }

        init(dir: String, algorithm: Algorithm) async throws {
            self.dir = dir
            self.algorithm = algorithm
            try FileManager.default.createDirectory(atPath: dir + "/issued", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: dir + "/index.txt", contents: Data())
            try "01\n".write(toFile: dir + "/serial", atomically: true, encoding: .utf8)
            let config = """
                [ca]
                default_ca = CA_default
                [CA_default]
                database = \(dir)/index.txt
                new_certs_dir = \(dir)/issued
                serial = \(dir)/serial
                default_md = default
                policy = policy_any
                unique_subject = no
                email_in_dn = no
                [policy_any]
                commonName = optional
                organizationName = optional
                [root_ext]
                basicConstraints = critical, CA:true
                keyUsage = critical, keyCertSign, cRLSign
                subjectKeyIdentifier = hash
                subjectAltName = URI:spiffe://example.org
                [leaf_ext]
                basicConstraints = critical, CA:false
                keyUsage = critical, digitalSignature, keyEncipherment, keyAgreement
                extendedKeyUsage = serverAuth, clientAuth
                subjectKeyIdentifier = hash
                authorityKeyIdentifier = keyid
                subjectAltName = URI:spiffe://example.org/ns/web

                """
            try config.write(toFile: dir + "/ca.cnf", atomically: true, encoding: .utf8)
            _ = try await run(["genpkey"] + algorithm.genpkey + ["-out", dir + "/root.key"])
            _ = try await run(["req", "-new", "-key", dir + "/root.key", "-subj", "/O=SPIFFE/CN=root", "-out", dir + "/root.csr"])
            _ = try await run([
                "ca", "-batch", "-config", dir + "/ca.cnf", "-selfsign", "-keyfile", dir + "/root.key",
                "-in", dir + "/root.csr", "-extensions", "root_ext", "-notext", "-out", dir + "/root.pem",
                "-startdate", Self.asn1Time(at(-86400)), "-enddate", Self.asn1Time(at(30 * 86400)),
            ])
        }

        /// A new PKCS#8 key, as `openssl genpkey` writes it.
        func newKey(_ name: String) async throws -> String {
            _ = try await run(["genpkey"] + algorithm.genpkey + ["-out", dir + "/" + name])
            return dir + "/" + name
        }

        /// A leaf for spiffe://example.org/ns/web valid from at(-10) to at(3600), like SPIRE's.
        func issueLeaf(key: String) async throws -> String {
            _ = try await run(["req", "-new", "-key", key, "-subj", "/O=SPIRE", "-out", dir + "/leaf.csr"])
            _ = try await run([
                "ca", "-batch", "-config", dir + "/ca.cnf", "-cert", dir + "/root.pem", "-keyfile", dir + "/root.key",
                "-in", dir + "/leaf.csr", "-extensions", "leaf_ext", "-notext", "-out", dir + "/leaf.pem",
                "-startdate", Self.asn1Time(at(-10)), "-enddate", Self.asn1Time(at(3600)),
            ])
            return dir + "/leaf.pem"
        }
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try #require(FileManager.default.contents(atPath: path), "cannot read \(path)"))
    }

    static func evaluate(svid: String, key: String, bundle: String, now: Date = referenceTime) async throws
        -> SPIFFEHelperEvaluation
    {
        await SPIFFEHelperEvaluator.evaluate(
            SPIFFEHelperInputs(
                svid: .content(try bytes(svid)), key: .content(try bytes(key)), bundle: .content(try bytes(bundle))),
            names: SPIFFEHelperFileNames(), previousSPIFFEID: nil, now: now)
    }

    @Test("an SVID issued by openssl passes every check", arguments: Algorithm.allCases)
    func opensslSVIDIsValid(_ algorithm: Algorithm) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.openssl), "openssl not found")
        try await withTemporaryDirectory { dir in
            let ca = try await OpenSSLCA(dir: dir, algorithm: algorithm)
            let key = try await ca.newKey("svid_key.pem")
            let leaf = try await ca.issueLeaf(key: key)
            let result = try await Self.evaluate(svid: leaf, key: key, bundle: dir + "/root.pem")
            #expect(result.problems.isEmpty, "\(result.problems) \(result.details)")
            let report = try #require(result.svid?.report)
            #expect(report.spiffeID == "spiffe://example.org/ns/web")
            #expect(report.problems(at: referenceTime).isEmpty, "\(report.problems(at: referenceTime))")
            #expect(report.chainTrusted == true)
            #expect(report.leaf?.notAfter == at(3600))
            #expect(report.problems(at: at(3601)) == [.expired])

            // Another key of the same type: the certificate and key no longer belong together.
            let other = try await ca.newKey("other_key.pem")
            let mismatched = try await Self.evaluate(svid: leaf, key: other, bundle: dir + "/root.pem")
            #expect(mismatched.svid?.report.problems(at: referenceTime) == [.keyMismatch])
        }
    }

    @Test("OpenSSL and the exporter agree on our chains: trusted, expired, and under a foreign root")
    func chainVerdictsAgreeWithOpenSSL() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.openssl), "openssl not found")
        try await withTemporaryDirectory { dir in
            let root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(86400))
            let intermediate = try SVIDFactory.intermediateCA(issuer: root, notBefore: at(-3600), notAfter: at(43200))
            let svid = try SVIDFactory.svid(
                spiffeID: "spiffe://example.org/ns/web", issuer: intermediate, notBefore: at(-10), notAfter: at(3600))
            let foreign = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(86400))
            let leafPath = dir + "/leaf.pem"
            let chainPath = dir + "/untrusted.pem"
            try SVIDFactory.pem("CERTIFICATE", SVIDFactory.der(svid.leaf)).write(toFile: leafPath, atomically: true, encoding: .utf8)
            try SVIDFactory.pem("CERTIFICATE", intermediate.der).write(toFile: chainPath, atomically: true, encoding: .utf8)
            try svid.chainPEM.write(toFile: dir + "/svid.pem", atomically: true, encoding: .utf8)
            try svid.keyPEM.write(toFile: dir + "/svid_key.pem", atomically: true, encoding: .utf8)
            for (name, ca) in [("bundle.pem", root), ("foreign.pem", foreign)] {
                try SVIDFactory.pem("CERTIFICATE", ca.der).write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            }

            func opensslAccepts(bundle: String, at instant: Date) async throws -> Bool {
                let result = try await runTool(
                    Self.openssl,
                    [
                        "verify", "-CAfile", dir + "/" + bundle, "-untrusted", chainPath,
                        "-attime", String(Int(instant.timeIntervalSince1970)), leafPath,
                    ])
                return result.status == 0
            }
            func exporterAccepts(bundle: String, at instant: Date) async throws -> Bool {
                let result = try await Self.evaluate(
                    svid: dir + "/svid.pem", key: dir + "/svid_key.pem", bundle: dir + "/" + bundle, now: instant)
                return try #require(result.svid?.report).problems(at: instant).isEmpty
            }

            for (bundle, instant, expected) in [
                ("bundle.pem", referenceTime, true),
                ("bundle.pem", at(3601), false),  // the leaf has expired
                ("foreign.pem", referenceTime, false),  // same trust domain, another CA key
            ] {
                #expect(try await opensslAccepts(bundle: bundle, at: instant) == expected, "openssl, \(bundle) at \(instant)")
                #expect(try await exporterAccepts(bundle: bundle, at: instant) == expected, "exporter, \(bundle) at \(instant)")
            }
        }
    }
}
