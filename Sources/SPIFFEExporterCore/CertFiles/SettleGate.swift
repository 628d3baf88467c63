import Foundation

/// Decides when a problem found in files may be a writer caught mid-rewrite and must be re-read
/// before it is reported. spiffe-helper truncates and rewrites each file in place, cert → key →
/// bundle, so a reader can see an empty file, half a PEM block, or a new cert with the old key.
///
/// Events in (each read's problems and a fingerprint of what was read, with `now`), a decision out.
/// A transient-looking problem in content not seen before is held for ``settleDelay``; if the
/// same content is still bad on the re-read, or the content keeps changing and stays bad for
/// ``maxSettle``, it is reported. Content already reported bad is reported again at once.
public struct SettleGate<Fingerprint: Hashable & Sendable>: Sendable {
    public enum Decision: Sendable, Hashable {
        /// The read is good: publish it.
        case publish
        /// Keep the previous state and read again at `retryAt`.
        case hold(retryAt: Date)
        /// The problem is real (or cannot be transient): publish and count it.
        case report
    }

    struct Settling: Sendable {
        var since: Date
        var fingerprint: Fingerprint
        var retryAt: Date
    }

    public let settleDelay: TimeInterval
    public let maxSettle: TimeInterval
    private var settling: Settling?
    private var lastReported: Fingerprint?

    public init(settleDelay: TimeInterval, maxSettle: TimeInterval) {
        self.settleDelay = settleDelay
        self.maxSettle = max(maxSettle, settleDelay)
    }

    /// Whether a re-read is pending.
    public var isSettling: Bool { settling != nil }

    public mutating func evaluate(problems: Set<CertFileLoadReason>, fingerprint: Fingerprint, now: Date) -> Decision {
        if problems.isEmpty {
            settling = nil
            lastReported = nil
            return .publish
        }
        let transient = problems.allSatisfy(\.mayBeTransient)
        if !transient || fingerprint == lastReported || settleDelay <= 0 {
            return report(fingerprint)
        }
        guard let current = settling else {
            let retryAt = now.addingTimeInterval(settleDelay)
            settling = Settling(since: now, fingerprint: fingerprint, retryAt: retryAt)
            return .hold(retryAt: retryAt)
        }
        if now.timeIntervalSince(current.since) >= maxSettle {
            return report(fingerprint)
        }
        if fingerprint == current.fingerprint {
            // Same bytes as when the problem was first seen: once the delay has passed, it stays.
            if now >= current.retryAt { return report(fingerprint) }
            return .hold(retryAt: current.retryAt)
        }
        // The writer is still busy: wait for the new content to settle too.
        let retryAt = now.addingTimeInterval(settleDelay)
        settling = Settling(since: current.since, fingerprint: fingerprint, retryAt: retryAt)
        return .hold(retryAt: retryAt)
    }

    private mutating func report(_ fingerprint: Fingerprint) -> Decision {
        settling = nil
        lastReported = fingerprint
        return .report
    }
}
