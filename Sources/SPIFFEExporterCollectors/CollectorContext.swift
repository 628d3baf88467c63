import Foundation
import Logging
import SPIFFEExporterCore

/// What every collector writes to and reads from: the identities, the source board, the
/// exporter's own series, the agent connections, and the wall clock for timestamps.
public struct CollectorContext: Sendable {
    public let store: IdentityStore
    public let board: SourceBoard
    public let registry: MetricsRegistry
    public let connections: AgentConnections
    public let logger: Logger
    /// Wall-clock time of observations (notBefore/notAfter comparisons, update timestamps).
    public let now: @Sendable () -> Date

    public init(
        store: IdentityStore, board: SourceBoard, registry: MetricsRegistry, connections: AgentConnections,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.board = board
        self.registry = registry
        self.connections = connections
        self.logger = logger
        self.now = now
    }

    /// The same context with another logger (a quiet one for one-shot checks).
    public func with(logger: Logger) -> CollectorContext {
        CollectorContext(store: store, board: board, registry: registry, connections: connections, logger: logger, now: now)
    }
}
