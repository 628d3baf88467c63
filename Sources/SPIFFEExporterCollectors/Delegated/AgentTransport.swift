import GRPCCore
import GRPCNIOTransportHTTP2
import SPIFFEExporterCore

/// gRPC client plumbing shared by the delegated and agent health collectors: plaintext HTTP/2 on
/// the agent's sockets, settings as the Workload API collector uses them.
enum AgentTransport {
    static func make(_ address: WorkloadEndpointAddress) throws -> HTTP2ClientTransport.Posix {
        let target: any ResolvableTarget
        switch address {
        case .unix(let path): target = .unixDomainSocket(path: path)
        case .tcp(let host, let port):
            target = host.contains(":") ? .ipv6(address: host, port: port) : .ipv4(address: host, port: port)
        }
        var config = HTTP2ClientTransport.Posix.Config.defaults
        // SPIRE drops clients that ping more often than every 5 minutes; leave keepalive off.
        config.connection.keepalive = nil
        return try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext, config: config)
    }

    static func callOptions(timeout: Duration? = nil) -> CallOptions {
        var options = CallOptions.defaults
        // Fail fast when the agent is absent instead of queueing until it appears.
        options.waitForReady = false
        // A node with many workloads and federated bundles exceeds the 4 MiB default.
        options.maxResponseMessageBytes = 64 * 1024 * 1024
        options.timeout = timeout
        return options
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The failure reason for a transport-level Unavailable: what is wrong with the socket.
    static func diagnoseUnavailable(_ address: WorkloadEndpointAddress) -> ConnectionFailureReason {
        if case .unix(let path) = address { return SocketDiagnosis.diagnose(path: path) }
        return .unavailable
    }
}

/// A one-shot signal that child tasks can wait for; a structured way to stop one stream of a group.
final class StopSignal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    }

    func fire() { continuation.finish() }

    /// Returns once fired, or when the waiting task is cancelled.
    func wait() async {
        for await _ in stream {}
    }
}
