import Crypto
import Foundation
import Hummingbird
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Checks `Authorization: Basic` credentials against `basic_auth_users` bcrypt hashes, the way
/// exporter-toolkit does: an unknown user costs the same bcrypt run as a wrong password (no user
/// enumeration by timing), bcrypt runs on NIO's blocking-work pool (never on the concurrency pool
/// or Dispatch's), and successful verifications are cached because bcrypt is slow on purpose and
/// Prometheus sends the same credentials on every scrape.
final class BasicAuthenticator: Sendable {
    /// User name to bcrypt hash (`$2y$` normalised to `$2b$`).
    let users: [String: String]
    private let cache: Mutex<VerifiedCache>
    /// Per-process key of the cache entries: the cache holds HMACs of user, hash and password,
    /// never a password nor a plain fast hash of one that could be brute-forced offline.
    private let cacheKey = SymmetricKey(size: .bits256)
    /// Bounded (one thread per core), so a burst of bad logins queues rather than spawning work;
    /// exporter-toolkit serialises bcrypt with a mutex for the same reason.
    private let threadPool: NIOThreadPool

    init(users: [String: String], cacheCapacity: Int = 100, threadPool: NIOThreadPool = .singleton) {
        self.users = users.mapValues(BcryptHash.normalized)
        self.cache = Mutex(VerifiedCache(capacity: cacheCapacity))
        self.threadPool = threadPool
    }

    /// exporter-toolkit's fixed hash of "fakepassword", checked for unknown users.
    static let unknownUserHash = BcryptHash.normalized("$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi")

    /// Whether the `Authorization` header value names a configured user with the right password.
    func authenticate(authorization: String?) async -> Bool {
        guard let authorization, let (user, password) = Self.credentials(authorization) else { return false }
        let known = users[user]
        let hash = known ?? Self.unknownUserHash
        let key = cacheEntry(user: user, hash: hash, password: password)
        if known != nil, cache.withLock({ $0.contains(key) }) { return true }
        // A NUL would end the C string early and make "a\0b" equal "a".
        let usable = !password.utf8.contains(0)
        let matches = (try? await threadPool.runIfActive { usable && Bcrypt.verify(password, hash: hash) }) ?? false
        guard known != nil, matches else { return false }
        cache.withLock { $0.insert(key) }
        return true
    }

    /// Number of cached verifications (for tests).
    var cachedCount: Int { cache.withLock { $0.count } }

    private func cacheEntry(user: String, hash: String, password: String) -> Data {
        var message = Data(user.utf8)
        message.append(0)
        message.append(contentsOf: hash.utf8)
        message.append(0)
        message.append(contentsOf: password.utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: cacheKey))
    }

    /// Parses `Basic base64(user:password)` as Go's `Request.BasicAuth` does: case-insensitive
    /// scheme, standard base64, split at the first colon.
    static func credentials(_ header: String) -> (user: String, password: String)? {
        let prefix = "basic "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix else { return nil }
        let encoded = header.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
            let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}

/// A bounded set of verified credential HMACs; the oldest entry leaves first.
struct VerifiedCache: Sendable {
    let capacity: Int
    private var entries: Set<Data> = []
    private var order: [Data] = []

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    func contains(_ key: Data) -> Bool { entries.contains(key) }

    mutating func insert(_ key: Data) {
        guard entries.insert(key).inserted else { return }
        order.append(key)
        if order.count > capacity {
            entries.remove(order.removeFirst())
        }
    }
}

/// Answers 401 with `WWW-Authenticate: Basic` unless the request carries valid credentials. Added
/// before every route, so every path (health endpoints and 404s included) is protected, as with
/// exporter-toolkit.
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let authenticator: BasicAuthenticator

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if await authenticator.authenticate(authorization: request.headers[.authorization]) {
            return try await next(request, context)
        }
        return Response(
            status: .unauthorized,
            headers: [.wwwAuthenticate: "Basic", .contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: "Unauthorized\n")))
    }
}

/// Adds `http_server_config.headers` to every response, errors included.
struct ResponseHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let headers: HTTPFields

    init(_ headers: [String: String]) {
        var fields = HTTPFields()
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            // Names come from exporter-toolkit's allow-list, all valid field names.
            if let name = HTTPFields.Element.Name(name) { fields[name] = value }
        }
        self.headers = fields
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            var response = try await next(request, context)
            for field in headers { response.headers[field.name] = field.value }
            return response
        } catch let error as HTTPError {
            var headers = error.headers
            for field in self.headers { headers[field.name] = field.value }
            throw HTTPError(error.status, headers: headers, message: error.body)
        }
    }
}
