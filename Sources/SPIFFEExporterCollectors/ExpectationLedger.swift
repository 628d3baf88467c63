import Foundation
import SPIFFEExporterCore
import Synchronization

/// The expected identities of the running configuration and their history, shared by the store
/// (which reports every new list, so withdrawals are dated by the message) and the scrape and
/// `/status` (which evaluate them with what is held then).
public final class ExpectationLedger: Sendable {
    private let tracker = Mutex<ExpectedIdentityTracker?>(nil)

    public init() {}

    /// Sets the expectations; the first call also starts the "missing since start" clock.
    public func configure(_ expectations: [ExpectedIdentity], now: Date) {
        tracker.withLock { tracker in
            if tracker == nil {
                tracker = ExpectedIdentityTracker(expectations: expectations, startedAt: now)
            } else {
                tracker?.reconfigure(expectations, now: now)
            }
        }
    }

    public var isEmpty: Bool { tracker.withLock { $0?.expectations.isEmpty ?? true } }

    func observe(source: String, kind: ExpectedIdentity.Kind, audience: String? = nil, held: () -> [String: Bool], now: Date) {
        tracker.withLock { tracker in
            guard tracker?.expectations.isEmpty == false else { return }
            tracker?.observe(source: source, kind: kind, audience: audience, held: held(), now: now)
        }
    }

    public func evaluate(_ snapshots: [SourceSnapshot], sources: [SourceHealth], now: Date) -> [ExpectedIdentityStatus] {
        tracker.withLock { tracker in
            guard tracker?.expectations.isEmpty == false else { return [] }
            return tracker?.evaluate(
                held: HeldIdentity.all(in: snapshots, now: now), refused: ExpectedIdentityTracker.refusedSources(sources),
                now: now) ?? []
        }
    }
}
