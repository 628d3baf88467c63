import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The listening socket of a demo server (the probed TLS backend, the fake Envoy admin): bound on
/// an ephemeral port, served until graceful shutdown, then closed.
struct DemoListener: Sendable {
    let port: Int
    let channel: any Channel

    /// Binds `host` on an ephemeral port; `configure` sets up each accepted connection's pipeline
    /// (it runs on the connection's event loop).
    static func bind(
        host: String, configure: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) async throws -> DemoListener {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try configure(child.pipeline.syncOperations) }
            }
            .bind(host: host, port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw ChannelError.unknownLocalAddress
        }
        return DemoListener(port: port, channel: channel)
    }

    /// Serves until graceful shutdown, then closes the listener.
    func run(logger: Logger, _ message: Logger.Message) async {
        logger.info(message, metadata: ["port": "\(port)"])
        try? await gracefulShutdown()
        try? await channel.close()
    }
}
