import Foundation
import SPIFFEAgentAPIs
import SVIDFactory
import TestKit
import Testing
import X509

@testable import SPIFFEExporterCollectors
@testable import SPIFFEExporterCore

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Delegated Identity: configuration")
struct DelegatedConfigurationTests {
    @Test func subscriptionFlag() throws {
        let subscription = try DelegatedFlags.parseSubscription("payments=k8s:ns:payments,k8s:sa:api,k8s:ns:payments")
        #expect(subscription.name == "payments")
        // A set: sorted, repeats dropped; the value keeps its own colons.
        #expect(
            subscription.target
                == .selectors([
                    DelegatedSelector(type: "k8s", value: "ns:payments"),
                    DelegatedSelector(type: "k8s", value: "sa:api"),
                ]))
        #expect(
            try DelegatedFlags.parseSubscription("u=unix:uid:1000").target
                == .selectors([DelegatedSelector(type: "unix", value: "uid:1000")]))
        #expect(try DelegatedFlags.parseProcess("proxy=envoy").target == .processName("envoy"))
    }

    @Test(
        "invalid flag values are refused with a precise error",
        arguments: [
            ("k8s:ns:payments", DelegatedConfigurationError.missingName("k8s:ns:payments")),
            ("9lives=k8s:ns:a", .invalidName("9lives")),
            ("a b=k8s:ns:a", .invalidName("a b")),
            ("payments=", .invalidSelector("")),
            ("payments=k8s", .invalidSelector("k8s")),
            ("payments=k8s:", .invalidSelector("k8s:")),
            ("payments=:ns", .invalidSelector(":ns")),
            ("payments=k8s:ns:a,,k8s:sa:b", .invalidSelector("")),
        ])
    func invalidSubscription(_ text: String, _ expected: DelegatedConfigurationError) {
        #expect(throws: expected) { try DelegatedFlags.parseSubscription(text) }
    }

    @Test func invalidProcess() {
        #expect(throws: DelegatedConfigurationError.invalidProcessName("/usr/bin/envoy")) {
            try DelegatedFlags.parseProcess("proxy=/usr/bin/envoy")
        }
        #expect(throws: DelegatedConfigurationError.invalidProcessName("")) {
            try DelegatedFlags.parseProcess("proxy=")
        }
    }

    @Test func validation() throws {
        let address = WorkloadEndpointAddress.unix(path: "/run/spire/admin.sock")
        let payments = try DelegatedFlags.parseSubscription("payments=k8s:ns:payments")
        #expect(throws: DelegatedConfigurationError.noSubscription) {
            try DelegatedConfiguration(address: address, subscriptions: []).validate()
        }
        #expect(throws: DelegatedConfigurationError.duplicateName("payments")) {
            try DelegatedConfiguration(address: address, subscriptions: [payments, payments]).validate()
        }
        #expect(throws: DelegatedConfigurationError.reservedName("payments")) {
            try DelegatedConfiguration(address: address, subscriptions: [payments]).validate(reserved: ["payments"])
        }
        #expect(throws: DelegatedConfigurationError.noSelector("empty")) {
            try DelegatedConfiguration(
                address: address, subscriptions: [DelegatedSubscription(name: "empty", target: .selectors([]))]
            ).validate()
        }
        try DelegatedConfiguration(address: address, subscriptions: [payments]).validate(reserved: ["workload_api"])
    }
}

@Suite("Delegated Identity: private keys")
struct KeyReleaseTests {
    static func pki() throws -> (IssuedCA, IssuedSVID) {
        let now = Date()
        let root = try SVIDFactory.rootCA(
            trustDomain: "example.org", notBefore: now.addingTimeInterval(-3600),
            notAfter: now.addingTimeInterval(86400))
        let svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/ns/a/sa/b", issuer: root, notBefore: now.addingTimeInterval(-10),
            notAfter: now.addingTimeInterval(3600))
        return (root, svid)
    }

    @Test("a released key leaves no key behind and a matching key leaves no problem")
    func matchingKey() async throws {
        let (root, svid) = try Self.pki()
        var material = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: svid.keyPKCS8DER)
        material.releasePrivateKey()
        #expect(material.privateKey == nil)
        #expect(!material.keyExpected)
        let bundles = BundleSet(own: TrustBundle(trustDomain: "example.org", certificates: [root.certificate]))
        let report = await X509SVIDAnalyzer.analyze(material, bundles: bundles, now: Date())
        #expect(report.problems(at: Date()).isEmpty)
    }

    @Test("key_mismatch survives the release and every later re-analysis")
    func mismatchSurvivesReanalysis() async throws {
        let (root, svid) = try Self.pki()
        let other = try KeyKind.p256.generate()
        let keyless = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: SVIDFactory.pkcs8(other)
        ).withoutPrivateKey()
        #expect(keyless.privateKey == nil)
        let bundles = BundleSet(own: TrustBundle(trustDomain: "example.org", certificates: [root.certificate]))
        for offset in [0.0, 600, 1800] {
            let report = await X509SVIDAnalyzer.analyze(
                keyless, bundles: bundles, now: Date().addingTimeInterval(offset))
            #expect(report.staticProblems.contains(.keyMismatch))
            #expect(report.problems(at: Date()) == [.keyMismatch])
        }
    }

    @Test("an undecodable key stays key_parse_error after the release")
    func parseErrorSurvives() async throws {
        let (_, svid) = try Self.pki()
        let keyless = X509SVIDMaterial.fromWorkloadAPI(
            spiffeID: svid.spiffeID, hint: "", chainDER: svid.chainDER, keyDER: [0x30, 0x03, 0x02, 0x01, 0x00]
        ).withoutPrivateKey()
        #expect(keyless.decodeProblems.contains(.keyParseError))
        #expect(!keyless.decodeProblems.contains(.keyMismatch))
    }

    @Test("decoding a delegated message drops every key and describes key problems without decoder text")
    func decodeDropsKeys() throws {
        let (_, svid) = try Self.pki()
        var message = Spire_Api_Agent_Delegatedidentity_V1_SubscribeToX509SVIDsResponse()
        var good = Spire_Api_Agent_Delegatedidentity_V1_X509SVIDWithKey()
        good.x509Svid.certChain = svid.chain.map { Data(SVIDFactory.der($0)) }
        good.x509Svid.id.trustDomain = "example.org"
        good.x509Svid.id.path = "/ns/a/sa/b"
        good.x509SvidKey = Data(svid.keyPKCS8DER)
        var bad = good
        bad.x509SvidKey = Data(svid.keyPKCS8DER.prefix(20))
        var noID = good
        noID.x509Svid.clearID()
        message.x509Svids = [good, bad, noID]
        message.federatesWith = ["spiffe://partner.example", "Not A Domain"]
        let (svids, federates, malformed) = DelegatedIdentityMessages.decode(message)
        #expect(svids.count == 3)
        #expect(svids.allSatisfy { $0.material.privateKey == nil && !$0.material.keyExpected })
        #expect(svids[0].material.reportedSPIFFEID == "spiffe://example.org/ns/a/sa/b")
        #expect(svids[0].trustDomain == "example.org")
        #expect(svids[1].material.decodeProblems.contains(.keyParseError))
        #expect(federates == ["partner.example"])
        #expect(malformed.contains("x509_svids[1]: x509_svid_key does not decode as PKCS#8"))
        #expect(malformed.contains("x509_svids[2].x509_svid.id is missing"))
        #expect(malformed.contains { $0.hasPrefix("federates_with entry") })
    }
}

@Suite("Delegated Identity: /proc")
struct ProcessTableTests {
    @Test func parseStat() throws {
        let text = Array(
            "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 98765 1000 10\n".utf8)
        let parsed = try #require(ProcessTable.parseStat(text))
        #expect(parsed.comm == "my (odd) proc")
        #expect(parsed.state == "S")
        #expect(parsed.startTime == 98765)
        #expect(ProcessTable.parseStat(Array("garbage".utf8)) == nil)
        #expect(ProcessTable.argv0Name(Array("/usr/local/bin/envoy\u{0}-c\u{0}".utf8)) == "envoy")
        #expect(ProcessTable.argv0Name([]) == nil)
    }

    @Test("processes are found by comm or argv[0], oldest first; zombies and others are skipped")
    func findByName() async throws {
        try await withTemporaryDirectory { root in
            let proc = FakeProc(root: root)
            try proc.add(pid: 300, name: "envoy", startTime: 50)
            try proc.add(pid: 200, name: "envoy", startTime: 70)
            // comm is truncated to 15 characters: argv[0] still names the process.
            try proc.add(pid: 400, name: "a-very-long-nam", startTime: 10, argv0: "/opt/a-very-long-name-indeed")
            try proc.add(pid: 500, name: "envoy", startTime: 5, state: "Z")
            try proc.add(pid: 600, name: "nginx", startTime: 1)
            try FileManager.default.createDirectory(atPath: root + "/self", withIntermediateDirectories: true)
            let table = ProcessTable(root: root)
            #expect(
                table.processes(named: "envoy") == [
                    ProcessIdentity(pid: 300, startTime: 50), ProcessIdentity(pid: 200, startTime: 70),
                ])
            #expect(table.processes(named: "a-very-long-name-indeed").map(\.pid) == [400])
            #expect(table.processes(named: "nothing").isEmpty)
            // The PID was reused by another process: same PID, another start time, another identity.
            try proc.add(pid: 300, name: "envoy", startTime: 99)
            try proc.remove(pid: 200)
            #expect(table.processes(named: "envoy") == [ProcessIdentity(pid: 300, startTime: 99)])
        }
    }

    @Test("the real /proc finds this test process by its name")
    func realProc() {
        let table = ProcessTable()
        let me = table.processes(named: ProcessInfo.processInfo.processName)
        #expect(me.contains { $0.pid == getpid() })
    }
}

@Suite("Delegated Identity: hints")
struct HintTests {
    @Test func hints() {
        let address = "unix:///run/spire/admin.sock"
        let unauthorized = DelegatedIdentityHints.hint(
            reason: .notAuthorizedDelegate, code: "PermissionDenied",
            detail: "caller not configured as an authorized delegate", address: address)
        #expect(unauthorized?.contains("authorized_delegates") == true)
        let noIdentity = DelegatedIdentityHints.hint(
            reason: .notAuthorizedDelegate, code: "PermissionDenied", detail: "no identity issued", address: address)
        #expect(noIdentity?.contains("registration entry") == true)
        #expect(
            DelegatedIdentityHints.hint(reason: .other, code: "Unimplemented", detail: "", address: address)?
                .contains("admin socket") == true)
        #expect(
            DelegatedIdentityHints.hint(reason: .socketNotFound, code: "Unavailable", detail: "", address: address)?
                .contains("admin_socket_path") == true)
        #expect(
            DelegatedIdentityHints.healthHint(status: "NOT_SERVING", reason: nil, address: address).contains(
                "NOT_SERVING"))
    }

    @Test func catalogHasTheDelegatedFamilies() {
        let names = Set(MetricCatalog.all.map(\.name))
        for name in [
            "spiffe_agent_healthy", "spiffe_agent_health_check_duration_seconds", "spiffe_delegated_subscription_svids",
            "spiffe_delegated_subscription_processes",
        ] {
            #expect(names.contains(name))
        }
    }
}
