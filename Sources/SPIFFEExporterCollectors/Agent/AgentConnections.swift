import GRPCCore
import GRPCNIOTransportHTTP2
import SPIFFEExporterCore
import ServiceLifecycle
import Synchronization

/// One long-lived gRPC client per agent socket (Workload API socket, admin socket), shared by
/// every collector and RPC to it. A Service of the application's ServiceGroup: it runs the
/// clients' connections and, on graceful shutdown (after the collectors, which stop first),
/// lets in-flight RPCs finish and closes them.
public final class AgentConnections: Service, Sendable {
    public typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    /// The pool was shut down: no new RPCs.
    public struct Stopped: Error {}

    private struct State: Sendable {
        var clients: [WorkloadEndpointAddress: Client] = [:]
        /// Clients created before `run()` started, handed to it when it does.
        var pending: [Client] = []
        var continuation: AsyncStream<Client>.Continuation?
        var stopped = false
    }

    private let state = Mutex(State())

    public init() {}

    /// The client of `address`, created on first use. RPCs may start before `run()` does: the
    /// transport queues them until the connection runs.
    public func client(for address: WorkloadEndpointAddress) throws -> Client {
        try state.withLock { s in
            guard !s.stopped else { throw Stopped() }
            if let client = s.clients[address] { return client }
            let client = Client(transport: try Self.transport(address))
            s.clients[address] = client
            if let continuation = s.continuation {
                continuation.yield(client)
            } else {
                s.pending.append(client)
            }
            return client
        }
    }

    public func run() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Client.self)
        let pending = state.withLock { s -> [Client]? in
            guard !s.stopped else { return nil }
            s.continuation = continuation
            defer { s.pending = [] }
            return s.pending
        }
        guard let pending else { return }
        for client in pending { continuation.yield(client) }
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await client in stream {
                    group.addTask { try? await client.runConnections() }
                }
            } onGracefulShutdown: {
                self.shutdown()
            }
        }
    }

    /// Stops accepting RPCs and closes every connection once its RPCs have finished.
    public func shutdown() {
        let clients = state.withLock { s -> [Client] in
            s.stopped = true
            s.continuation?.finish()
            return Array(s.clients.values)
        }
        for client in clients { client.beginGracefulShutdown() }
    }

    static func transport(_ address: WorkloadEndpointAddress) throws -> HTTP2ClientTransport.Posix {
        let target: any ResolvableTarget
        switch address {
        case .unix(let path): target = .unixDomainSocket(path: path)
        case .tcp(let host, let port):
            target = host.contains(":") ? .ipv6(address: host, port: port) : .ipv4(address: host, port: port)
        }
        var config = HTTP2ClientTransport.Posix.Config.defaults
        // SPIRE drops clients that ping more often than every 5 minutes; leave keepalive off.
        config.connection.keepalive = nil
        // A local socket is cheap to retry: an agent that comes back is seen within seconds, not
        // after gRPC's default two-minute reconnect ceiling.
        config.backoff = .init(initial: .milliseconds(250), max: .seconds(5), multiplier: 2, jitter: 0.2)
        return try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext, config: config)
    }

    /// Call options of every agent RPC.
    public static func callOptions(timeout: Duration? = nil) -> CallOptions {
        var options = CallOptions.defaults
        // Fail fast when the agent is absent instead of queueing until it appears.
        options.waitForReady = false
        // A node with many workloads and federated bundles exceeds the 4 MiB default.
        options.maxResponseMessageBytes = 64 * 1024 * 1024
        options.timeout = timeout
        return options
    }
}

extension AgentConnections {
    /// Runs `body` with a pool whose connections run for the duration of the call (one-shot
    /// checks and tests, outside a ServiceGroup).
    public static func with<T: Sendable>(_ body: (AgentConnections) async throws -> T) async rethrows -> T {
        let pool = AgentConnections()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            defer { pool.shutdown() }
            let result = try await body(pool)
            pool.shutdown()
            try await group.waitForAll()
            return result
        }
    }
}
