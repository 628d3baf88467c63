import Foundation
import X509

/// Reads the SPIRE agent's data file: `agent-data.json` (SPIRE ≥ 1.9: a JSON object whose `svid`
/// and `bundle` are arrays of base64 strings, each one PEM `CERTIFICATE` block, leaf first, and
/// `reattestable` a bool) or, before 1.9, `agent_svid.der` (the DER chain). Only the agent's
/// certificates: the private key lives in another file of the data directory, which is never read.
public enum AgentDataFile {
    /// Larger than any agent's data file (a chain and a bundle of a few CAs).
    public static let maximumSize = 1 << 20
    /// The file names to look for when the configured path is the data directory, newest first.
    public static let fileNames = ["agent-data.json", "agent_svid.der"]

    public struct Failure: Error, Sendable, Hashable {
        public var reason: AgentFailureReason
        /// For logs: what exactly is wrong, never certificate bytes.
        public var detail: String

        public init(_ reason: AgentFailureReason, _ detail: String) {
            self.reason = reason
            self.detail = detail
        }
    }

    /// The report the file's content gives, read at `now`. The format follows the content: JSON
    /// starts with `{`, a DER chain with a SEQUENCE byte.
    public static func parse(_ bytes: [UInt8], now: Date) -> Result<AgentReport, Failure> {
        guard let first = bytes.first(where: { !Self.isSpace($0) }) else {
            return .failure(Failure(.dataFileMalformed, "the file is empty"))
        }
        if first == UInt8(ascii: "{") { return json(bytes, now: now) }
        if first == 0x30 { return legacy(bytes, now: now) }
        return .failure(Failure(.dataFileMalformed, "neither a JSON object nor a DER certificate chain"))
    }

    private struct Contents: Decodable {
        var svid: [String]?
        var bundle: [String]?
        var reattestable: Bool?
    }

    static func json(_ bytes: [UInt8], now: Date) -> Result<AgentReport, Failure> {
        let contents: Contents
        do {
            contents = try JSONDecoder().decode(Contents.self, from: Data(bytes))
        } catch {
            return .failure(Failure(.dataFileMalformed, "not the agent data JSON: \(Self.describe(error))"))
        }
        guard let svid = contents.svid, !svid.isEmpty else {
            return .failure(Failure(.emptyChain, "\"svid\" is missing or empty"))
        }
        var chain: [Certificate] = []
        for (index, element) in svid.enumerated() {
            switch certificate(element) {
            case .success(let certificate): chain.append(certificate)
            case .failure(let problem): return .failure(Failure(.dataFileMalformed, "svid[\(index)]: \(problem)"))
            }
        }
        var bundle: [CertificateFacts] = []
        for (index, element) in (contents.bundle ?? []).enumerated() {
            switch certificate(element) {
            case .success(let certificate): bundle.append(CertificateFacts(certificate))
            case .failure(let problem): return .failure(Failure(.dataFileMalformed, "bundle[\(index)]: \(problem)"))
            }
        }
        return report(chain, channel: .dataFile, reattestable: contents.reattestable, bundle: bundle, now: now)
            .mapError { Failure(.dataFileMalformed, $0.description) }
    }

    static func legacy(_ bytes: [UInt8], now: Date) -> Result<AgentReport, Failure> {
        let elements: [ArraySlice<UInt8>]
        do {
            elements = try DERChain.split(bytes)
        } catch {
            return .failure(Failure(.legacyDataFileMalformed, "\(error)"))
        }
        var chain: [Certificate] = []
        for (index, der) in elements.enumerated() {
            guard let certificate = try? Certificate(derEncoded: Array(der)) else {
                return .failure(Failure(.legacyDataFileMalformed, "certificate \(index) is not a DER X.509 certificate"))
            }
            chain.append(certificate)
        }
        return report(chain, channel: .legacyDataFile, reattestable: nil, bundle: [], now: now)
            .mapError { Failure(.legacyDataFileMalformed, $0.description) }
    }

    /// One array element: base64 of one PEM CERTIFICATE block (a bare DER certificate is taken too).
    /// What is wrong with one element, in words for the log.
    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static func certificate(_ element: String) -> Result<Certificate, Problem> {
        guard let decoded = Base64.decode(Array(element.utf8)) else { return .failure(Problem("not base64")) }
        var der = decoded
        if decoded.first != 0x30 {
            let blocks: [PEMBlock]
            do { blocks = try PEM.parse(decoded) } catch { return .failure(Problem("\(error)")) }
            guard blocks.count == 1, blocks[0].type == "CERTIFICATE" else {
                return .failure(
                    Problem("expected one PEM CERTIFICATE block, found \(blocks.map(\.type).joined(separator: ", "))"))
            }
            der = blocks[0].der
        }
        guard let certificate = try? Certificate(derEncoded: der) else {
            return .failure(Problem("not an X.509 certificate"))
        }
        return .success(certificate)
    }

    private static func report(
        _ certificates: [Certificate], channel: AgentChannel, reattestable: Bool?, bundle: [CertificateFacts], now: Date
    ) -> Result<AgentReport, Problem> {
        guard !certificates.isEmpty else { return .failure(Problem("no certificate")) }
        let chain = certificates.map { certificate in
            let facts = CertificateFacts(certificate)
            return AgentChainCertificate(
                spiffeID: facts.uriSANs.first { $0.hasPrefix("spiffe://") } ?? "", notBefore: facts.notBefore,
                notAfter: facts.notAfter)
        }
        guard (try? SPIFFEID(parsing: chain[0].spiffeID)) != nil else {
            return .failure(Problem("the leaf has no SPIFFE ID URI SAN"))
        }
        return .success(
            AgentReport(channel: channel, chain: chain, reattestable: reattestable, bundle: bundle, observedAt: now))
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// A decoding error in a line, without the file's content.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return "wrong type at \(path.isEmpty ? "the top level" : String(path.drop { $0 == "." }))"
        case DecodingError.dataCorrupted: return "invalid JSON"
        default: return "invalid JSON"
        }
    }
}
