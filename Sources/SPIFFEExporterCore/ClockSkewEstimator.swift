import Foundation

/// Estimates how far the local clock is from the SVID issuer's, from fresh X.509-SVIDs.
///
/// SPIRE sets NotBefore to its issuance time minus a backdate (about 10 s) and the agent pushes a
/// rotated SVID on every open FetchX509SVID stream within about a second of minting it. So for an
/// SVID pushed on a live stream, `arrival − NotBefore − backdate` is the local clock's offset from
/// the issuer's plus a delivery time under a second: positive when the local clock is ahead,
/// negative when it is behind (then fresh SVIDs look not yet valid locally once it passes the
/// backdate). Only such pushes are samples: a new generation (serial not held before) arriving on
/// a stream that had already delivered. The first message of every stream is the agent's current
/// state, possibly cached for a long time, and says nothing about the clock.
///
/// The estimate is the median of the last ``window`` samples (robust to a slow push), `nil` until
/// there are ``minimumSamples``. Pure: arrival times are passed in.
public struct ClockSkewEstimator: Sendable, Hashable {
    public static let window = 9
    public static let minimumSamples = 3
    public static let defaultBackdate: TimeInterval = 10

    /// Seconds SPIRE subtracts from the issuance time (`--clock.issuer-backdate`).
    public var backdate: TimeInterval
    public private(set) var samples: [Double] = []
    /// The serial last held for each SPIFFE ID.
    private var serials: [String: String] = [:]

    public init(backdate: TimeInterval = Self.defaultBackdate) {
        self.backdate = backdate
    }

    /// A full list of SVIDs (SPIFFE ID, serial, NotBefore) arrived at `arrival`. `live`: the stream
    /// had already delivered before this message.
    public mutating func observe(_ svids: [(spiffeID: String, serial: String, notBefore: Date)], arrival: Date, live: Bool) {
        var next: [String: String] = [:]
        for svid in svids {
            next[svid.spiffeID] = svid.serial
            guard live, serials[svid.spiffeID] != svid.serial else { continue }
            let sample = arrival.timeIntervalSince(svid.notBefore) - backdate
            guard sample.isFinite else { continue }
            samples.append(sample)
            if samples.count > Self.window { samples.removeFirst(samples.count - Self.window) }
        }
        serials = next
    }

    /// Median of the recent samples, seconds; `nil` with fewer than ``minimumSamples``.
    public var estimate: Double? {
        guard samples.count >= Self.minimumSamples else { return nil }
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
