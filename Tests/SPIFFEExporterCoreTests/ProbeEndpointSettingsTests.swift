import Foundation
import SPIFFEExporterCore
import Testing

/// `/probe` requests checked against modules, the allow-list and Prometheus's timeout, without I/O.
@Suite struct ProbeRequestTests {
    let settings = ProbeEndpointSettings(
        modules: [
            "pg": ProbeModule(
                spiffeID: "spiffe://example.org/db", startTLS: .postgres, clientAuthRequired: true, timeout: .seconds(3)),
            "default": ProbeModule(serverName: "mesh.internal"),
        ],
        allowedTargets: [ProbeTargetGlob("*.internal:5432"), ProbeTargetGlob("10.0.?.*:443"), ProbeTargetGlob("[::1]:*")])

    func resolve(
        _ target: String?, module: String? = nil, header: String? = nil, settings: ProbeEndpointSettings? = nil
    ) -> Result<ProbeRequest, ProbeRequest.Rejection> {
        ProbeRequest.resolve(
            target: target, module: module, scrapeTimeoutHeader: header, settings: settings ?? self.settings)
    }

    @Test func moduleOptionsBecomeTheTarget() throws {
        let request = try resolve("db.internal:5432", module: "pg").get()
        #expect(request.target.name == "db.internal:5432", "the target label is the target as asked for")
        #expect(request.target.host == "db.internal")
        #expect(request.target.port == 5432)
        #expect(request.target.spiffeID == "spiffe://example.org/db")
        #expect(request.target.startTLS == .postgres)
        #expect(request.target.clientAuthRequired)
        #expect(request.moduleName == "pg")
        #expect(request.timeout == 3)
    }

    @Test func withoutModuleTheDefaultModule() throws {
        let configured = try resolve("10.0.1.7:443").get()
        #expect(configured.moduleName == "default")
        #expect(configured.target.serverName == "mesh.internal")
        // Not configured: a plain TLS probe.
        let plain = try resolve("api:8443", settings: ProbeEndpointSettings()).get()
        #expect(plain.target.startTLS == nil)
        #expect(plain.target.spiffeID == nil)
        #expect(plain.timeout == ProbeEndpointSettings.defaultTimeout.seconds)
    }

    @Test func badRequests() {
        for (target, module) in [(nil, nil), ("", nil), ("db.internal", nil), ("db.internal:99999", nil), ("db.internal:5432", "nope"), ("http://x:1/", nil)] as [(String?, String?)] {
            guard case .failure(let rejection) = resolve(target, module: module) else {
                Issue.record("\(String(describing: target)) module \(String(describing: module)) is a bad request")
                continue
            }
            #expect(rejection.outcome == .badRequest)
        }
        guard case .failure(let rejection) = resolve("db.internal:5432", header: "soon") else {
            Issue.record("a timeout header that is no number is a bad request")
            return
        }
        #expect(rejection.outcome == .badRequest)
        #expect(rejection.message.contains("X-Prometheus-Scrape-Timeout-Seconds"))
    }

    @Test func allowList() {
        for allowed in ["db.internal:5432", "DB.Internal:5432", "10.0.3.42:443", "[::1]:8443"] {
            #expect((try? resolve(allowed).get()) != nil, "\(allowed) is allowed")
        }
        for denied in ["db.internal:5433", "169.254.169.254:443", "10.0.33.1:443", "metadata.google.internal.evil:5432", "[::2]:8443"] {
            guard case .failure(let rejection) = resolve(denied) else {
                Issue.record("\(denied) is not allowed")
                continue
            }
            #expect(rejection.outcome == .notAllowed)
        }
        // No list: anything (documented as an SSRF risk).
        #expect((try? resolve("169.254.169.254:443", settings: ProbeEndpointSettings()).get()) != nil)
    }

    @Test func hostileTargetIsQuotedBoundedAndClean() {
        guard case .failure(let rejection) = resolve(String(repeating: "\u{1B}[31m", count: 100)) else {
            Issue.record("escape sequences are no host:port")
            return
        }
        #expect(!rejection.message.contains("\u{1B}"))
        #expect(rejection.message.count < 400)
    }

    @Test func timeoutFollowsPrometheus() throws {
        // Prometheus's scrape timeout less the 0.5 s offset.
        #expect(try resolve("api:443", header: "10", settings: ProbeEndpointSettings()).get().timeout == 9.5)
        // A tiny scrape timeout keeps half of it rather than nothing.
        #expect(try resolve("api:443", header: "0.6", settings: ProbeEndpointSettings()).get().timeout == 0.3)
        // A module timeout lowers it, never raises it.
        #expect(try resolve("db.internal:5432", module: "pg", header: "10").get().timeout == 3)
        #expect(try resolve("db.internal:5432", module: "pg", header: "2").get().timeout == 1.5)
        // Never more than a minute, whatever is asked.
        #expect(try resolve("api:443", header: "300", settings: ProbeEndpointSettings()).get().timeout == 60)
        for header in ["0", "-1", "nan", "inf"] {
            guard case .failure = resolve("api:443", header: header, settings: ProbeEndpointSettings()) else {
                Issue.record("\(header) is no scrape timeout")
                continue
            }
        }
    }
}

@Suite struct ProbeTargetGlobTests {
    @Test func wildcards() {
        #expect(ProbeTargetGlob("*").matches("anything:1"))
        #expect(ProbeTargetGlob("*.svc:443").matches("api.ns.svc:443"))
        #expect(!ProbeTargetGlob("*.svc:443").matches("api.ns.svc:4430"))
        #expect(ProbeTargetGlob("db-?:5432").matches("db-1:5432"))
        #expect(!ProbeTargetGlob("db-?:5432").matches("db-12:5432"))
        #expect(ProbeTargetGlob("[::1]:443").matches("[::1]:443"), "brackets are literal")
        #expect(ProbeTargetGlob("a*b*c").matches("aXXbYYc"))
        #expect(!ProbeTargetGlob("a*b*c").matches("aXXbYY"))
        #expect(ProbeTargetGlob("**:1").matches("x:1"))
    }

    @Test func noExponentialBacktracking() {
        // A pattern that makes naive recursive matchers explode; the matcher stays linear-ish.
        let pattern = ProbeTargetGlob(String(repeating: "*a", count: 30) + "b")
        #expect(!pattern.matches(String(repeating: "a", count: 5000)))
    }
}
