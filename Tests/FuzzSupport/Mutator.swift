import Foundation

/// A seeded mutation fuzzer for the parser tests: flips, truncates, inserts and deletes
/// bytes of corpus files. Runs a fixed number of mutations per seed, or, with
/// CSGIS_FUZZ_SECONDS set (the CI's time-boxed run, scripts/fuzz.sh's long one), for that
/// many seconds per parser. A crash ends the test process, which is the failure looked for.
public struct Mutator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33)
    }

    public mutating func mutate(_ seed: [UInt8]) -> [UInt8] {
        var d = seed
        for _ in 0..<(1 + next() % 3) {
            switch next() % 5 {
            case 0: for _ in 0..<(1 + next() % 4) where !d.isEmpty { d[next() % d.count] = UInt8(next() & 0xff) }
            case 1: d = Array(d.prefix(next() % (d.count + 1)))
            case 2: if !d.isEmpty { let i = next() % d.count; d.insert(contentsOf: Array(repeating: UInt8(next() & 0xff), count: 1 + next() % 8), at: i) }
            case 3: if d.count > 4 { let i = next() % (d.count - 4); d[i..<i + 4] = [0x7f, 0xff, 0xff, UInt8(next() & 0xff)][...] }  // huge lengths
            default: if d.count > 1 { d.remove(at: next() % (d.count - 1)) }
            }
        }
        return d
    }

    /// Seconds per parser from CSGIS_FUZZ_SECONDS, or nil for the fixed count.
    public static var seconds: Double? { ProcessInfo.processInfo.environment["CSGIS_FUZZ_SECONDS"].flatMap(Double.init) }

    /// Feeds mutations of `corpus` to `body` (returns true when the input was accepted):
    /// `perSeed` each, or for CSGIS_FUZZ_SECONDS. -> (accepted, refused, total).
    public static func run(corpus: [[UInt8]], perSeed: Int, seed: UInt64, _ body: ([UInt8]) -> Bool) -> (Int, Int, Int) {
        var m = Mutator(seed: seed)
        var accepted = 0, refused = 0
        let deadline = seconds.map { Date().addingTimeInterval($0) }
        var round = 0
        repeat {
            for s in corpus {
                for _ in 0..<perSeed { if body(m.mutate(s)) { accepted += 1 } else { refused += 1 } }
            }
            round += 1
        } while deadline.map { Date() < $0 } ?? false
        return (accepted, refused, accepted + refused)
    }

    /// The files of Tests/Fixtures/corpus.
    public static func corpus(_ filter: (String) -> Bool = { _ in true }) throws -> [[UInt8]] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/corpus")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().filter(filter)
            .map { Array(try Data(contentsOf: dir.appendingPathComponent($0))) }
    }
}
