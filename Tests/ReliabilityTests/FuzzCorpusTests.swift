import ExporterTestKit
import Foundation
import Testing

/// The libFuzzer contract (never crash, never hang, always a reason) checked in CI: every file of
/// the committed corpus (seeds, and crashers found since) plus a fixed batch of mutations of each,
/// through the same entry points `Fuzz/` fuzzes (FuzzEntryPoints.swift is shared).
@Suite("Fuzz corpus regression", .timeLimit(.minutes(1)))
struct FuzzCorpusTests {
    static let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    static func corpus(_ target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        let directory = corpusRoot.appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            FileManager.default.contents(atPath: directory.appendingPathComponent(name).path).map { (name, Array($0)) }
        }
    }

    @Test("every corpus file keeps the contract", arguments: FuzzTarget.allCases)
    func corpusKeepsContract(target: FuzzTarget) async throws {
        let inputs = Self.corpus(target)
        try #require(!inputs.isEmpty, "no corpus for \(target.rawValue) under \(Self.corpusRoot.path)")
        for (name, bytes) in inputs {
            let outcome = await target.run(bytes)
            #expect(outcome.keepsContract, "\(target.rawValue)/\(name): rejected without a reason")
        }
    }

    @Test("seeded mutations of the corpus keep the contract", arguments: FuzzTarget.allCases)
    func mutationsKeepContract(target: FuzzTarget) async throws {
        var random = SplitMix64(seed: 0x5EED_0000 &+ UInt64(target.rawValue.utf8.count))
        let inputs = Self.corpus(target).map(\.bytes)
        try #require(!inputs.isEmpty)
        for round in 0..<150 {
            var bytes = inputs[round % inputs.count]
            Mutator.mutate(&bytes, using: &random)
            let outcome = await target.run(bytes)
            #expect(outcome.keepsContract, "\(target.rawValue) mutation \(round): \(bytes.prefix(64))")
        }
    }

    @Test("the seeds are not all rejected: each target accepts at least one")
    func seedsReachAcceptance() async throws {
        // A target that rejects everything would be fuzzing only its first guard.
        for target in FuzzTarget.allCases where target != .der {
            var accepted = false
            for (_, bytes) in Self.corpus(target) {
                if await target.run(bytes) == .accepted { accepted = true }
            }
            #expect(accepted, "\(target.rawValue): no seed is accepted")
        }
    }
}

/// A small, deterministic PRNG: the same mutations on every run and platform.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// libFuzzer-like byte mutations, biased towards the bytes that matter to these formats.
enum Mutator {
    static let interesting: [UInt8] = Array("\"\\\n\r\t-./:=%{}[],*&0\u{7F}".utf8) + [0x00, 0x30, 0x80, 0x81, 0x82, 0x84, 0xFF, 0xC3]

    static func mutate(_ bytes: inout [UInt8], using random: inout some RandomNumberGenerator) {
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = interesting.randomElement(using: &random)!
            case 2:
                bytes.insert(
                    interesting.randomElement(using: &random)!, at: Int.random(in: 0...bytes.count, using: &random))
            case 3 where !bytes.isEmpty:
                let start = Int.random(in: 0..<bytes.count, using: &random)
                bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...16, using: &random)))
            case 4 where !bytes.isEmpty:
                bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
            case 5 where !bytes.isEmpty:
                // Duplicate a chunk: repeated blocks, elements and keys.
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let chunk = bytes[start..<min(bytes.count, start + Int.random(in: 1...64, using: &random))]
                bytes.insert(contentsOf: chunk, at: Int.random(in: 0...bytes.count, using: &random))
            default:
                bytes.append(UInt8.random(in: 0...255, using: &random))
            }
        }
    }
}
