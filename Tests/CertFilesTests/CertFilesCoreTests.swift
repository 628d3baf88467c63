import ExporterTestKit
import Foundation
import SPIFFEExporterCore
import SVIDFactory
import TestKit
import Testing
import X509

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Certificate files: reasons and flags")
struct CertFilesFlagTests {
    @Test func reasonVocabularyIsClosedAndDocumentedOrder() {
        #expect(
            Set(CertFileLoadReason.allCases.map(\.rawValue)) == [
                "not_found", "permission_denied", "file_too_large", "parse_error", "key_mismatch", "symlink_loop",
                "not_regular_file", "read_error",
            ])
        #expect(CertFileLoadReason.allCases.filter(\.mayBeTransient) == [.notFound, .parseError, .keyMismatch])
    }

    @Test(arguments: [
        (ENOENT, CertFileLoadReason.notFound), (ENOTDIR, .notFound), (EACCES, .permissionDenied),
        (EPERM, .permissionDenied), (ELOOP, .symlinkLoop), (EISDIR, .notRegularFile), (EFBIG, .fileTooLarge),
        (EIO, .readError), (ENAMETOOLONG, .readError),
    ])
    func errnoClassification(_ code: Int32, _ reason: CertFileLoadReason) {
        #expect(CertFileLoadReason.classify(errno: code) == reason)
    }

    @Test func namedPaths() throws {
        let (name, path) = try CertFilesFlags.parseNamedPath("web=/run/spiffe/certs")
        #expect(name == "web" && path == "/run/spiffe/certs")
        // Only the first `=` separates: paths may contain more.
        #expect(try CertFilesFlags.parseNamedPath("a=/x=y").path == "/x=y")
        #expect(throws: CertFilesConfigurationError.missingName("/run/certs")) {
            try CertFilesFlags.parseNamedPath("/run/certs")
        }
        #expect(throws: CertFilesConfigurationError.invalidSourceName("")) { try CertFilesFlags.parseNamedPath("=/x") }
        #expect(throws: CertFilesConfigurationError.invalidSourceName("9lives")) {
            try CertFilesFlags.parseNamedPath("9lives=/x")
        }
        #expect(throws: CertFilesConfigurationError.missingName("web=")) { try CertFilesFlags.parseNamedPath("web=") }
    }

    @Test func globArguments() throws {
        #expect(try CertFilesFlags.parseGlobArgument("tls=/etc/tls/*.crt") == ("tls", "/etc/tls/*.crt"))
        #expect(try CertFilesFlags.parseGlobArgument("/etc/tls/*.crt") == ("cert_files", "/etc/tls/*.crt"))
        // What precedes `=` is not a source name (it has a `/`): the whole text is the pattern.
        #expect(try CertFilesFlags.parseGlobArgument("/data/a=b/*.pem") == ("cert_files", "/data/a=b/*.pem"))
        #expect(throws: CertFilesConfigurationError.self) { try CertFilesFlags.parseGlobArgument("x=/etc/[ab.pem") }
    }

    @Test func byteSizes() throws {
        #expect(try CertFilesFlags.parseByteSize("1048576") == 1_048_576)
        #expect(try CertFilesFlags.parseByteSize("1MiB") == 1_048_576)
        #expect(try CertFilesFlags.parseByteSize("512KiB") == 524_288)
        #expect(try CertFilesFlags.parseByteSize("2MB") == 2_000_000)
        #expect(try CertFilesFlags.parseByteSize("1.5k") == 1536)
        for bad in ["", "0", "-1", "1XB", "MiB", "1 2"] {
            #expect(throws: CertFilesConfigurationError.self, "\(bad)") { try CertFilesFlags.parseByteSize(bad) }
        }
    }

    @Test func federatedBundleFiles() throws {
        #expect(
            try CertFilesFlags.parseFederatedBundle("partner.example=fed.pem")
                == FederatedBundleFile(trustDomain: "partner.example", fileName: "fed.pem"))
        #expect(try CertFilesFlags.parseFederatedBundle("fed.pem") == FederatedBundleFile(fileName: "fed.pem"))
        #expect(throws: CertFilesConfigurationError.self) {
            try CertFilesFlags.parseFederatedBundle("Bad_Domain=x.pem")
        }
    }

    @Test func configurationsFromFlags() throws {
        let sources = try CertFilesFlags.makeConfigurations(
            directories: ["web=/run/web", "db=/run/db"],
            globs: ["/etc/tls/*.crt", "tls=/etc/a/*.pem", "/etc/b/*.pem", "tls=/etc/c/*.pem"],
            refreshInterval: .seconds(30), maxFileSize: 4096)
        #expect(sources.map(\.name) == ["web", "db", "cert_files", "tls"])
        #expect(sources[0].kind == .spiffeHelperDirectory(path: "/run/web", files: SPIFFEHelperFileNames()))
        #expect(sources[2].kind == .glob(patterns: ["/etc/tls/*.crt", "/etc/b/*.pem"]))
        #expect(sources[3].kind == .glob(patterns: ["/etc/a/*.pem", "/etc/c/*.pem"]))
        #expect(
            sources.allSatisfy {
                $0.refreshInterval == .seconds(30) && $0.maxFileSize == 4096 && $0.settleDelay == .milliseconds(200)
            })

        #expect(throws: CertFilesConfigurationError.duplicateSource("web")) {
            try CertFilesFlags.makeConfigurations(directories: ["web=/a", "web=/b"], globs: [])
        }
        #expect(throws: CertFilesConfigurationError.duplicateSource("web")) {
            try CertFilesFlags.makeConfigurations(directories: ["web=/a"], globs: ["web=/b/*.pem"])
        }
        #expect(throws: CertFilesConfigurationError.self) {
            try CertFilesFlags.makeConfigurations(
                directories: ["web=/a"], globs: [], files: SPIFFEHelperFileNames(svid: "x.pem", key: "x.pem"))
        }
        #expect(throws: CertFilesConfigurationError.self) {
            try CertFilesFlags.makeConfigurations(
                directories: ["web=/a"], globs: [], files: SPIFFEHelperFileNames(svid: "sub/svid.pem"))
        }
    }

    @Test func defaults() {
        let source = CertFilesSourceConfiguration(name: "x", kind: .glob(patterns: ["/a/*.pem"]))
        #expect(source.refreshInterval == .seconds(60))
        #expect(source.maxFileSize == 1 << 20)
        #expect(source.settleDelay == .milliseconds(200))
        #expect(source.maxSettle == .seconds(2))
        #expect(SPIFFEHelperFileNames().all == ["svid.pem", "svid_key.pem", "svid_bundle.pem"])
    }
}

@Suite("Certificate files: glob patterns")
struct GlobPatternTests {
    func matches(_ pattern: String, _ path: String) throws -> Bool {
        let glob = try GlobPattern(pattern)
        let relative = path.dropFirst(glob.root == "/" ? 1 : glob.root.count + 1)
        return glob.matches(relative.split(separator: "/").map(String.init))
    }

    @Test func rootIsTheLiteralPrefix() throws {
        #expect(try GlobPattern("/etc/tls/*.crt").root == "/etc/tls")
        #expect(try GlobPattern("/etc/tls/server.crt").root == "/etc/tls")
        #expect(try GlobPattern("/*/x.pem").root == "/")
        #expect(try GlobPattern("certs/**/*.pem").root == "certs")
        #expect(try GlobPattern("*.pem").root == ".")
        #expect(try GlobPattern("/a/b[1]/*.pem").root == "/a")
    }

    @Test func wildcards() throws {
        #expect(try matches("/etc/tls/*.crt", "/etc/tls/server.crt"))
        #expect(try !matches("/etc/tls/*.crt", "/etc/tls/server.key"))
        #expect(try !matches("/etc/tls/*.crt", "/etc/tls/sub/server.crt"))
        #expect(try matches("/etc/tls/?.crt", "/etc/tls/a.crt"))
        #expect(try !matches("/etc/tls/?.crt", "/etc/tls/ab.crt"))
        #expect(try matches("/etc/tls/*", "/etc/tls/anything"))
        #expect(try matches("/etc/tls/a*b*c", "/etc/tls/aXbYbZc"))
        #expect(try !matches("/etc/tls/a*b*c", "/etc/tls/aXbYbZ"))
        #expect(try matches("/etc/*/tls.crt", "/etc/web/tls.crt"))
    }

    @Test func characterClasses() throws {
        #expect(try matches("/c/[ab].pem", "/c/a.pem"))
        #expect(try !matches("/c/[ab].pem", "/c/c.pem"))
        #expect(try matches("/c/[a-c]x.pem", "/c/bx.pem"))
        #expect(try matches("/c/[!a-c].pem", "/c/d.pem"))
        #expect(try !matches("/c/[^a-c].pem", "/c/b.pem"))
        #expect(try matches("/c/[]]", "/c/]"))
        #expect(throws: GlobPattern.ParseError.unterminatedClass) { try GlobPattern("/c/[ab.pem") }
    }

    @Test func doubleStarSpansDirectories() throws {
        #expect(try matches("/c/**/*.pem", "/c/a.pem"))
        #expect(try matches("/c/**/*.pem", "/c/x/a.pem"))
        #expect(try matches("/c/**/*.pem", "/c/x/y/z/a.pem"))
        #expect(try matches("/c/**/tls/*.pem", "/c/ns/web/tls/a.pem"))
        #expect(try !matches("/c/**/tls/*.pem", "/c/ns/web/a.pem"))
        #expect(try matches("/c/**", "/c/x/y"))
    }

    @Test func hiddenNamesNeedALiteralDot() throws {
        #expect(try !matches("/v/*.crt", "/v/.hidden.crt"))
        #expect(try !matches("/v/**/*.crt", "/v/..data/tls.crt"))
        #expect(try !matches("/v/*/tls.crt", "/v/..2030_01_01/tls.crt"))
        #expect(try matches("/v/.*.crt", "/v/.hidden.crt"))
        #expect(try matches("/v/..data/*.crt", "/v/..data/tls.crt"))
    }

    @Test func escapes() throws {
        #expect(try matches("/c/a\\*.pem", "/c/a*.pem"))
        #expect(try !matches("/c/a\\*.pem", "/c/ab.pem"))
        #expect(throws: GlobPattern.ParseError.trailingBackslash) { try GlobPattern("/c/a\\") }
    }

    @Test func pruning() throws {
        let glob = try GlobPattern("/c/*/tls/*.pem")
        #expect(glob.mayContain(["web"]))
        #expect(glob.mayContain(["web", "tls"]))
        #expect(!glob.mayContain(["web", "other"]))
        #expect(!glob.mayContain([".hidden"]))
        #expect(!glob.mayContain(["web", "tls", "deeper"]))
        #expect(try GlobPattern("/c/**/*.pem").mayContain(["a", "b", "c"]))
        #expect(try !GlobPattern("/c/*.pem").mayContain(["a"]))
        #expect(try !GlobPattern("/c/*.pem").matchesBelowRoot)
        #expect(try GlobPattern("/c/**/*.pem").matchesBelowRoot)
    }

    @Test func pathsAsThePatternSpellsThem() throws {
        #expect(try GlobPattern("/c/*.pem").path(relative: ["a.pem"]) == "/c/a.pem")
        #expect(try GlobPattern("/*.pem").path(relative: ["a.pem"]) == "/a.pem")
        #expect(try GlobPattern("*.pem").path(relative: ["a.pem"]) == "a.pem")
        #expect(try GlobPattern("./*.pem").path(relative: ["a.pem"]) == "./a.pem")
        #expect(try GlobPattern("certs/*.pem").path(relative: ["a.pem"]) == "certs/a.pem")
    }
}

@Suite("Certificate files: change detection and settling")
struct ChangeAndSettleTests {
    let stamp = FileStamp(device: 1, inode: 2, size: 100, modified: 1_000_000_000_000_000_000)

    @Test func trustedStampSkipsTheRead() {
        var detector = ChangeDetector<String>()
        let digest = ContentDigest(of: Array("a".utf8))
        // Read well after the mtime: the stamp can be trusted.
        detector.record(
            "/f", stamp: stamp, digest: digest, payload: "parsed", readAt: stamp.modifiedDate.addingTimeInterval(5))
        #expect(detector.unchanged("/f", stamp: stamp) == "parsed")
        var moved = stamp
        moved.inode = 3
        #expect(detector.unchanged("/f", stamp: moved) == nil)
        var grown = stamp
        grown.size = 101
        #expect(detector.unchanged("/f", stamp: grown) == nil)
        var touched = stamp
        touched.modified += 1
        #expect(detector.unchanged("/f", stamp: touched) == nil)
        // Same content after a rewrite: no reparse.
        #expect(detector.sameContent("/f", digest: digest) == "parsed")
        #expect(detector.sameContent("/f", digest: ContentDigest(of: Array("b".utf8))) == nil)
    }

    @Test func racyStampIsNotTrusted() {
        var detector = ChangeDetector<String>()
        // Read within the timestamp granularity of the last write: an in-place rewrite of the same
        // size could keep this stamp, so the next look must read the file again.
        detector.record(
            "/f", stamp: stamp, digest: ContentDigest(of: [1]), payload: "p",
            readAt: stamp.modifiedDate.addingTimeInterval(0.3))
        #expect(detector.unchanged("/f", stamp: stamp) == nil)
        #expect(detector.sameContent("/f", digest: ContentDigest(of: [1])) == "p")
    }

    @Test func forgottenAndRetained() {
        var detector = ChangeDetector<Int>()
        let later = stamp.modifiedDate.addingTimeInterval(10)
        for path in ["/a", "/b", "/c"] {
            detector.record(path, stamp: stamp, digest: ContentDigest(of: Array(path.utf8)), payload: 1, readAt: later)
        }
        detector.retain(["/a", "/b"])
        detector.forget("/a")
        #expect(detector.count == 1)
        #expect(detector.unchanged("/b", stamp: stamp) == 1)
    }

    let t0 = Date(timeIntervalSinceReferenceDate: 1000)

    @Test func goodReadsPublish() {
        var gate = SettleGate<Int>(settleDelay: 0.2, maxSettle: 2)
        #expect(gate.evaluate(problems: [], fingerprint: 1, now: t0) == .publish)
    }

    @Test func halfWrittenThenComplete() {
        // spiffe-helper wrote the new cert; the old key is still there.
        var gate = SettleGate<Int>(settleDelay: 0.2, maxSettle: 2)
        #expect(gate.evaluate(problems: [.keyMismatch], fingerprint: 1, now: t0) == .hold(retryAt: t0 + 0.2))
        #expect(gate.isSettling)
        // The key is written 50 ms later: good, published, nothing reported.
        #expect(gate.evaluate(problems: [], fingerprint: 2, now: t0 + 0.05) == .publish)
        #expect(!gate.isSettling)
    }

    @Test func persistingProblemIsReportedAfterTheDelay() {
        var gate = SettleGate<Int>(settleDelay: 0.2, maxSettle: 2)
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 1, now: t0) == .hold(retryAt: t0 + 0.2))
        // An early re-read (another event) with the same bytes keeps waiting for the same deadline.
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 1, now: t0 + 0.1) == .hold(retryAt: t0 + 0.2))
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 1, now: t0 + 0.2) == .report)
        // Reported content is reported again at once at the next re-read (no new wait).
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 1, now: t0 + 60) == .report)
    }

    @Test func busyWriterIsWaitedForButNotForever() {
        // Binary fractions keep the date arithmetic exact.
        var gate = SettleGate<Int>(settleDelay: 0.25, maxSettle: 1)
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 1, now: t0) == .hold(retryAt: t0 + 0.25))
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 2, now: t0 + 0.25) == .hold(retryAt: t0 + 0.5))
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 3, now: t0 + 0.5) == .hold(retryAt: t0 + 0.75))
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 4, now: t0 + 1.0) == .report)
    }

    @Test func problemsThatCannotBeTransientAreReportedAtOnce() {
        var gate = SettleGate<Int>(settleDelay: 0.2, maxSettle: 2)
        #expect(gate.evaluate(problems: [.fileTooLarge], fingerprint: 1, now: t0) == .report)
        #expect(gate.evaluate(problems: [.permissionDenied, .parseError], fingerprint: 2, now: t0) == .report)
        #expect(gate.evaluate(problems: [.symlinkLoop], fingerprint: 3, now: t0) == .report)
    }

    @Test func newBadContentAfterAReportSettlesAgain() {
        var gate = SettleGate<Int>(settleDelay: 0.2, maxSettle: 2)
        #expect(gate.evaluate(problems: [.keyMismatch], fingerprint: 1, now: t0) == .hold(retryAt: t0 + 0.2))
        #expect(gate.evaluate(problems: [.keyMismatch], fingerprint: 1, now: t0 + 0.2) == .report)
        #expect(gate.evaluate(problems: [.keyMismatch], fingerprint: 2, now: t0 + 5) == .hold(retryAt: t0 + 5.2))
    }

    @Test func zeroDelayReportsImmediately() {
        var gate = SettleGate<Int>(settleDelay: 0, maxSettle: 0)
        #expect(gate.evaluate(problems: [.parseError], fingerprint: 1, now: t0) == .report)
    }
}

@Suite("Certificate files: evaluating spiffe-helper content")
struct SPIFFEHelperEvaluatorTests {
    let root: IssuedCA
    let svid: IssuedSVID
    let names = SPIFFEHelperFileNames()

    init() throws {
        root = try SVIDFactory.rootCA(trustDomain: "example.org", notBefore: at(-3600), notAfter: at(86400))
        svid = try SVIDFactory.svid(
            spiffeID: "spiffe://example.org/web", issuer: root, notBefore: at(-10), notAfter: at(3600))
    }

    var bundlePEM: [UInt8] { Array(SVIDFactory.pem("CERTIFICATE", root.der).utf8) }

    func inputs(cert: FileInput? = nil, key: FileInput? = nil, bundle: FileInput? = nil) -> SPIFFEHelperInputs {
        SPIFFEHelperInputs(
            svid: cert ?? .content(Array(svid.chainPEM.utf8)), key: key ?? .content(Array(svid.keyPEM.utf8)),
            bundle: bundle ?? .content(bundlePEM))
    }

    func evaluate(
        _ inputs: SPIFFEHelperInputs, names: SPIFFEHelperFileNames? = nil, previous: String? = nil
    ) async
        -> SPIFFEHelperEvaluation
    {
        await SPIFFEHelperEvaluator.evaluate(
            inputs, names: names ?? self.names, previousSPIFFEID: previous, now: referenceTime)
    }

    @Test func completeDirectoryIsAValidSVID() async throws {
        let result = await evaluate(inputs())
        #expect(result.problems.isEmpty)
        let report = try #require(result.svid?.report)
        #expect(report.spiffeID == "spiffe://example.org/web")
        #expect(report.problems(at: referenceTime).isEmpty)
        #expect(report.chainTrusted == true)
        #expect(result.bundles.keys.sorted() == ["example.org"])
    }

    @Test func newCertWithOldKeyIsKeyMismatch() async throws {
        let other = try KeyKind.p256.generate()
        let result = await evaluate(
            inputs(key: .content(Array(SVIDFactory.pem("PRIVATE KEY", SVIDFactory.pkcs8(other)).utf8))))
        #expect(result.problems == ["svid_key.pem": .keyMismatch])
        #expect(result.svid?.report.problems(at: referenceTime) == [.keyMismatch])
    }

    @Test func truncatedCertificateKeepsThePreviousIdentity() async throws {
        let pem = Array(svid.chainPEM.utf8)
        let result = await evaluate(
            inputs(cert: .content(Array(pem.prefix(pem.count / 2)))), previous: "spiffe://example.org/web")
        #expect(result.problems == ["svid.pem": .parseError])
        #expect(result.svid?.report.spiffeID == "spiffe://example.org/web")
        #expect(result.svid?.report.problems(at: referenceTime).contains(.parseError) == true)
    }

    @Test func onlyIntermediatesLeftByOmitExpiredKeepThePreviousIdentity() async throws {
        // spiffe-helper's omit_expired drops an expired leaf and writes the intermediates alone
        // (spiffe-helper omit_expired): that is no SVID, not a CA certificate posing as one under spiffe://example.org.
        let intermediate = try SVIDFactory.intermediateCA(issuer: root, notBefore: at(-3600), notAfter: at(86400))
        let onlyIntermediates = Array(SVIDFactory.pem("CERTIFICATE", intermediate.der).utf8)
        let result = await evaluate(
            inputs(cert: .content(onlyIntermediates)), previous: "spiffe://example.org/web")
        #expect(result.problems["svid.pem"] == .parseError)
        let report = try #require(result.svid?.report)
        #expect(report.spiffeID == "spiffe://example.org/web")
        #expect(report.problems(at: referenceTime).contains(.parseError))
        #expect(!report.problems(at: referenceTime).contains(.caLeaf))

        // A misordered chain (intermediate first, leaf after) is still an SVID with a CA leaf.
        let misordered = onlyIntermediates + Array(svid.chainPEM.utf8)
        let misorderedResult = await evaluate(inputs(cert: .content(misordered)))
        #expect(misorderedResult.svid?.report.problems(at: referenceTime).contains(.caLeaf) == true)
    }

    @Test func emptyFilesAreParseErrors() async {
        let result = await evaluate(inputs(cert: .content([]), key: .content([]), bundle: .content([])))
        #expect(
            result.problems == ["svid.pem": .parseError, "svid_key.pem": .parseError, "svid_bundle.pem": .parseError])
    }

    @Test func keyInTheWrongFormatIsAParseError() async {
        // go-spiffe reads only PKCS#8 `PRIVATE KEY` blocks.
        let sec1 = SVIDFactory.pem("EC PRIVATE KEY", [0x30, 0x03, 0x02, 0x01, 0x01])
        let result = await evaluate(inputs(key: .content(Array(sec1.utf8))))
        #expect(result.problems == ["svid_key.pem": .parseError])
    }

    @Test func unreadableKeyStillReportsTheCertificate() async throws {
        // A 0600 key owned by another user: the certificate is still monitored.
        let result = await evaluate(inputs(key: .failed(.permissionDenied)))
        #expect(result.problems == ["svid_key.pem": .permissionDenied])
        let report = try #require(result.svid?.report)
        #expect(report.problems(at: referenceTime).isEmpty)
    }

    @Test func missingCertificateMeansNoIdentity() async {
        let result = await evaluate(inputs(cert: .failed(.notFound)))
        #expect(result.svid == nil)
        #expect(result.problems == ["svid.pem": .notFound])
    }

    @Test func bundleWithFederatedCAsIsSplitByTrustDomain() async throws {
        let partner = try SVIDFactory.rootCA(trustDomain: "partner.example", notBefore: at(-3600), notAfter: at(86400))
        let bundle = bundlePEM + Array(SVIDFactory.pem("CERTIFICATE", partner.der).utf8)
        let result = await evaluate(inputs(bundle: .content(bundle)))
        #expect(result.problems.isEmpty)
        #expect(result.bundles.keys.sorted() == ["example.org", "partner.example"])
        #expect(result.bundles["partner.example"]?.certificates.count == 1)
        #expect(result.svid?.report.problems(at: referenceTime).isEmpty == true)
    }

    @Test func federatedBundleFiles() async throws {
        let partner = try SVIDFactory.rootCA(trustDomain: "partner.example", notBefore: at(-3600), notAfter: at(86400))
        let names = SPIFFEHelperFileNames(federatedBundles: [FederatedBundleFile(fileName: "partner.pem")])
        var inputs = inputs()
        inputs.federatedBundles = [(nil, .content(Array(SVIDFactory.pem("CERTIFICATE", partner.der).utf8)))]
        let result = await evaluate(inputs, names: names)
        #expect(result.problems.isEmpty)
        #expect(result.bundles.keys.sorted() == ["example.org", "partner.example"])
    }

    @Test func jwtFilesAreCheckedForCompleteness() async throws {
        let names = SPIFFEHelperFileNames(jwtSVIDs: ["jwt.token"], jwtBundle: "jwt_bundle.json")
        func b64url(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let token =
            b64url(#"{"alg":"ES256","kid":"k1"}"#) + "." + b64url(#"{"sub":"spiffe://example.org/web"}"#) + ".c2ln"
        let jwks = Data(#"{"keys":[{"kty":"EC","kid":"k1"}]}"#.utf8).base64EncodedString()
        let jwtBundle = #"{"example.org":"\#(jwks)"}"#
        var good = inputs()
        good.jwtSVIDs = [.content(Array(token.utf8))]
        good.jwtBundle = .content(Array(jwtBundle.utf8))
        #expect(await evaluate(good, names: names).problems.isEmpty)

        var half = good
        half.jwtSVIDs = [.content(Array(token.utf8.prefix(20)))]
        half.jwtBundle = .content(Array(jwtBundle.utf8.prefix(10)))
        #expect(
            await evaluate(half, names: names).problems == ["jwt.token": .parseError, "jwt_bundle.json": .parseError])
    }

    @Test func globbedCertificateSummaries() throws {
        let pem = Array(svid.chainPEM.utf8)
        let summary = try CertificateFileSummary.parse(pem).get()
        #expect(summary.notAfter == at(3600) && summary.notBefore == at(-10) && summary.certificates == 1)
        // A key before the certificate (OpenSSL "combined" files) is skipped.
        let combined = Array(svid.keyPEM.utf8) + pem
        #expect(try CertificateFileSummary.parse(combined).get().notAfter == at(3600))
        #expect(try CertificateFileSummary.parse(SVIDFactory.der(root.certificate)).get().notAfter == at(86400))
        #expect(CertificateFileSummary.parse(Array(svid.keyPEM.utf8)) == .failure(.parseError))
        #expect(CertificateFileSummary.parse(Array(pem.prefix(100))) == .failure(.parseError))
        #expect(CertificateFileSummary.parse([0x30, 0x82, 0x01]) == .failure(.parseError))
        #expect(CertificateFileSummary.parse([]) == .failure(.parseError))
    }
}
