import Foundation
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import TestKit
import Testing

@testable import SPIFFEExporterHTTP

/// Basic auth through the real router (HummingbirdTesting, no sockets).
@Suite("Basic auth", .timeLimit(.minutes(1)))
struct BasicAuthTests {
    /// Hashes are generated here with the library; cost 4 keeps the suite fast.
    static let users = [
        "prometheus": Bcrypt.hash("scrape-secret", cost: 4),
        // Go and htpasswd write $2y$; the same hash under that name must work.
        "grafana": "$2y$" + Bcrypt.hash("other:secret", cost: 4).dropFirst(4),
    ]

    static func application(headers: [String: String] = [:]) throws -> some ApplicationProtocol {
        let security = try WebSecurity(
            configuration: WebConfiguration(
                httpServer: HTTPServerConfiguration(headers: headers), basicAuthUsers: users),
            logger: quietLogger)
        return Application(
            router: buildRouter(configuration: HTTPConfiguration(), metrics: StubMetrics(), security: security))
    }

    static func basic(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    static func field(_ name: String) -> HTTPFields.Element.Name {
        HTTPFields.Element.Name(name)!
    }

    static func text(_ response: TestResponse) -> String {
        String(decoding: response.body.readableBytesView, as: UTF8.self)
    }

    @Test("The right user and password get /metrics")
    func ok() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: Self.basic("prometheus", "scrape-secret"))
            {
                response in
                #expect(response.status == .ok)
                #expect(Self.text(response) == StubMetrics.body)
            }
            // A password containing ':' (split at the first colon) and a $2y$ hash.
            try await client.execute(uri: "/metrics", method: .get, headers: Self.basic("grafana", "other:secret")) {
                response in
                #expect(response.status == .ok)
            }
            // The scheme name is case-insensitive.
            let lower: HTTPFields = [
                .authorization: "basic " + Data("prometheus:scrape-secret".utf8).base64EncodedString()
            ]
            try await client.execute(uri: "/metrics", method: .get, headers: lower) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("A wrong password is 401 with WWW-Authenticate: Basic")
    func wrongPassword() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: Self.basic("prometheus", "scrape-secreT"))
            {
                response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Basic")
                #expect(!Self.text(response).contains("spiffe_exporter_stub"))
            }
            // A NUL must not end the comparison early.
            try await client.execute(
                uri: "/metrics", method: .get, headers: Self.basic("prometheus", "scrape-secret\u{0}x")
            ) {
                response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test("A missing or malformed Authorization header is 401 with WWW-Authenticate: Basic")
    func missingHeader() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Basic")
            }
            for value in ["Bearer abc", "Basic !!!notbase64", "Basic " + Data("no-colon".utf8).base64EncodedString()] {
                try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: value]) { response in
                    #expect(response.status == .unauthorized, "\(value)")
                }
            }
        }
    }

    @Test("An unknown user is 401, even with a password that is right for someone else")
    func unknownUser() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: Self.basic("mallory", "scrape-secret")) {
                response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Basic")
            }
            // exporter-toolkit's dummy password for unknown users opens nothing either.
            try await client.execute(uri: "/metrics", method: .get, headers: Self.basic("mallory", "fakepassword")) {
                response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test("Every path is protected, as with exporter-toolkit: health, readiness, landing page and 404s")
    func everythingProtected() async throws {
        try await Self.application().test(.router) { client in
            for path in ["/healthz", "/readyz", "/", "/no-such-page"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(path)")
                }
            }
            try await client.execute(uri: "/healthz", method: .get, headers: Self.basic("prometheus", "scrape-secret"))
            {
                response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("POST /-/reload is behind basic auth too")
    func reloadProtected() async throws {
        let security = try WebSecurity(configuration: WebConfiguration(basicAuthUsers: Self.users), logger: quietLogger)
        let app = Application(
            router: buildRouter(
                configuration: HTTPConfiguration(), metrics: StubMetrics(), security: security, reload: { nil }))
        try await app.test(.router) { client in
            try await client.execute(uri: "/-/reload", method: .post) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(
                uri: "/-/reload", method: .post, headers: Self.basic("prometheus", "scrape-secret")
            ) {
                response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("Configured response headers are on every response, 401 and 404 included")
    func responseHeaders() async throws {
        let headers = ["X-Frame-Options": "deny", "Strict-Transport-Security": "max-age=63072000"]
        try await Self.application(headers: headers).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[Self.field("X-Frame-Options")] == "deny")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: Self.basic("prometheus", "scrape-secret"))
            {
                response in
                #expect(response.headers[Self.field("Strict-Transport-Security")] == "max-age=63072000")
            }
            try await client.execute(uri: "/missing", method: .get, headers: Self.basic("prometheus", "scrape-secret"))
            {
                response in
                #expect(response.status == .notFound)
                #expect(response.headers[Self.field("X-Frame-Options")] == "deny")
            }
        }
    }

    @Test("Without basic_auth_users nothing asks for credentials")
    func noUsers() async throws {
        let security = try WebSecurity(configuration: WebConfiguration(), logger: quietLogger)
        let app = Application(
            router: buildRouter(configuration: HTTPConfiguration(), metrics: StubMetrics(), security: security))
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("Successful verifications are cached (HMAC keys, bounded); failures are not")
    func cache() async throws {
        let authenticator = BasicAuthenticator(users: Self.users, cacheCapacity: 2)
        let good = "Basic " + Data("prometheus:scrape-secret".utf8).base64EncodedString()
        let bad = "Basic " + Data("prometheus:wrong".utf8).base64EncodedString()
        #expect(await authenticator.authenticate(authorization: bad) == false)
        #expect(authenticator.cachedCount == 0)
        #expect(await authenticator.authenticate(authorization: good))
        #expect(authenticator.cachedCount == 1)
        #expect(await authenticator.authenticate(authorization: good))
        #expect(authenticator.cachedCount == 1)
        // A wrong password for a cached user is still checked, not served from the cache.
        #expect(await authenticator.authenticate(authorization: bad) == false)
        let other = "Basic " + Data("grafana:other:secret".utf8).base64EncodedString()
        #expect(await authenticator.authenticate(authorization: other))
        #expect(authenticator.cachedCount == 2)
        #expect(
            await authenticator.authenticate(authorization: "Basic " + Data("mallory:x".utf8).base64EncodedString())
                == false)
        #expect(authenticator.cachedCount == 2)
    }
}
