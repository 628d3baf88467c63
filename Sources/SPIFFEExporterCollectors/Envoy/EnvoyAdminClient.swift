import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SPIFFEExporterCore
import Synchronization

/// One `GET /certs` of an Envoy admin listener over plain HTTP/1.1: one connection per request
/// (`Connection: close`), a deadline over the whole exchange, redirects not followed, and the body
/// read only up to a cap: past it the connection is closed, so a 100 MB answer is never buffered.
public struct EnvoyAdminClient: Sendable {
    let group: any EventLoopGroup
    /// The body cap; ``EnvoyCertificates/maximumBodySize`` in production.
    let maximumBodySize: Int

    public init(
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maximumBodySize: Int = EnvoyCertificates.maximumBodySize
    ) {
        self.group = group
        self.maximumBodySize = maximumBodySize
    }

    /// The body of a 200 answer to `GET <prefix>/certs`, or why there is none.
    public func fetchCerts(_ endpoint: EnvoyAdminEndpoint, timeout: Duration) async -> Result<
        [UInt8], EnvoyCertificates.Failure
    > {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(max(timeout.seconds, 0.001) * 1e9))
        let exchange = Exchange(promise: group.next().makePromise(of: [UInt8].self), limit: maximumBodySize)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(max(timeout.seconds, 0.001) * 1e9)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(CertsResponseHandler(exchange: exchange))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            let failure: EnvoyCertificates.Failure
            if case ChannelError.connectTimeout = error {
                failure = EnvoyCertificates.Failure(.timeout, "no TCP connection to \(endpoint) within \(timeout)")
            } else {
                failure = EnvoyCertificates.Failure(.connect, "\(endpoint): \(error)")
            }
            // NIO insists that every promise is completed.
            exchange.fail(failure.reason, failure.detail)
            return .failure(failure)
        }
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
            exchange.fail(.timeout, "no complete answer from \(endpoint) within \(timeout)")
            channel.close(promise: nil)
        }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.certsPath)
        head.headers.add(name: "Host", value: endpoint.port == 80 ? endpoint.host : "\(endpoint.host):\(endpoint.port)")
        head.headers.add(name: "Accept", value: "application/json")
        head.headers.add(name: "User-Agent", value: "spiffe-exporter")
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let result: Result<[UInt8], EnvoyCertificates.Failure>
        do {
            result = .success(try await exchange.promise.futureResult.get())
        } catch let failure as EnvoyCertificates.Failure {
            result = .failure(failure)
        } catch {
            result = .failure(EnvoyCertificates.Failure(.malformed, "\(error)"))
        }
        timer.cancel()
        channel.close(promise: nil)
        return result
    }
}

/// The one outcome of an exchange: the first of answer, error, cap or deadline wins.
final class Exchange: Sendable {
    let promise: EventLoopPromise<[UInt8]>
    let limit: Int
    private let done = Mutex(false)

    init(promise: EventLoopPromise<[UInt8]>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    private func claim() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }

    func succeed(_ body: [UInt8]) {
        if claim() { promise.succeed(body) }
    }

    func fail(_ reason: EnvoyFailureReason, _ detail: String) {
        if claim() { promise.fail(EnvoyCertificates.Failure(reason, detail)) }
    }
}

/// Collects a 200 answer's body up to the cap; anything else ends the exchange at once.
final class CertsResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let exchange: Exchange
    private var body: [UInt8] = []
    private var status: HTTPResponseStatus?

    init(exchange: Exchange) {
        self.exchange = exchange
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            guard head.status == .ok else {
                finish(context, .httpStatus, "HTTP \(head.status.code)")
                return
            }
            if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > exchange.limit {
                finish(context, .bodyTooLarge, "Content-Length \(length) is over \(exchange.limit) bytes")
            }
        case .body(let buffer):
            guard status == .ok else { return }
            guard body.count + buffer.readableBytes <= exchange.limit else {
                finish(context, .bodyTooLarge, "the body is over \(exchange.limit) bytes")
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            exchange.succeed(body)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            finish(context, .malformed, "not an HTTP answer: \(error)")
        } else {
            finish(context, .connect, "the connection failed: \(error)")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed before any answer: the connection failed; during the body: a truncated answer.
        if status == nil {
            exchange.fail(.connect, "the connection closed before an answer")
        } else {
            exchange.fail(.malformed, "the connection closed before the answer was complete")
        }
        context.fireChannelInactive()
    }

    private func finish(_ context: ChannelHandlerContext, _ reason: EnvoyFailureReason, _ detail: String) {
        exchange.fail(reason, detail)
        body = []
        context.close(promise: nil)
    }
}
