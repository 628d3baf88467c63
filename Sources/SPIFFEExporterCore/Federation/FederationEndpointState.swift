import Foundation

/// What the exporter knows about one federation bundle endpoint after its fetches: the last good
/// bundle (kept through failures, as SPIRE keeps a federated bundle when a refresh fails), whether
/// the last attempt succeeded, and failures counted by reason. Pure; the fetcher feeds it.
public struct FederationEndpointState: Sendable {
    public var source: String
    public var trustDomain: String
    /// The bundle from the last successful fetch.
    public private(set) var document: FederationBundleDocument?
    public private(set) var lastUpdate: Date?
    /// The failure of the last attempt; `nil` after a success.
    public private(set) var lastFailure: FederationBundleFailure?
    public private(set) var lastFailureTime: Date?
    /// Every reason, from zero.
    public private(set) var failures: [FederationBundleFailureReason: UInt64]
    /// Equal jitter halves each ceiling, so the first retry comes 30..60 s after a failure.
    private var backoff = Backoff(initial: .seconds(60), multiplier: 2, cap: .seconds(3600))

    public init(source: String, trustDomain: String) {
        self.source = source
        self.trustDomain = trustDomain
        self.failures = Dictionary(uniqueKeysWithValues: FederationBundleFailureReason.allCases.map { ($0, 0) })
    }

    /// `spiffe_federation_bundle_up`: the last attempt fetched a valid bundle.
    public var isUp: Bool { document != nil && lastFailure == nil }

    /// Records one attempt and returns the delay to the next: the bounded refresh hint (or
    /// `override`) after a success; after a failure a jittered backoff from 30..60 s, doubling, never beyond
    /// the refresh interval, so an endpoint that recovers is seen again within one refresh.
    public mutating func record(
        _ result: Result<FederationBundleDocument, FederationBundleFailure>, at now: Date,
        override: TimeInterval? = nil, jitter: Double = 0.5
    ) -> TimeInterval {
        switch result {
        case .success(let fetched):
            document = fetched
            lastUpdate = now
            lastFailure = nil
            lastFailureTime = nil
            backoff.reset()
            return fetched.refreshInterval(override: override)
        case .failure(let failure):
            failures[failure.reason, default: 0] += 1
            lastFailure = failure
            lastFailureTime = now
            let refresh = document?.refreshInterval(override: override)
                ?? FederationBundleDocument.boundedRefresh(override ?? FederationBundleDocument.defaultRefresh)
            let delay = backoff.next(jitter: jitter).seconds
            return min(max(delay, FederationBundleDocument.minimumRefresh), refresh)
        }
    }
}
