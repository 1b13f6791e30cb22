import Foundation
import FuzzSupport
import XCTest
@testable import CSGISCore

/// Loading: configuration facts, and a clear error (never a crash) for every bad file.
final class ModelLoadingTests: XCTestCase {
    func testPaperConfigurationFacts() {
        let paper = ModelConfig(dim: 64, numBlock: 12)
        XCTAssertEqual(paper.parameterCount, 2_528_519)
        XCTAssertEqual(paper.receptiveRadius, 135)
        XCTAssertEqual(Double(paper.flopsPerPixel) / 1e6, 5.03, accuracy: 0.01)
        XCTAssertEqual(paper.layers.count, 72)
        let lite = ModelConfig(dim: 32, numBlock: 6)
        XCTAssertEqual(lite.parameterCount, 469_959)
        XCTAssertEqual(Double(lite.flopsPerPixel) / 1e6, 0.93, accuracy: 0.01)
    }

    func testMetadataIsRead() throws {
        let m = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        XCTAssertEqual(m.config, ModelConfig(dim: 4, numBlock: 1))
        XCTAssertEqual(m.channelOrder, .rgb)
        XCTAssertEqual(m.metadata["format_version"], "1")
        XCTAssertNotNil(m.metadata["provenance"])
    }

    func testShippedModelsLoadQuickly() throws {
        for name in ["csgis-base", "csgis-lite"] {
            let path = Fixtures.repo.appendingPathComponent("models/\(name).safetensors").path
            let t0 = Date()
            let m = try CSGISModel(contentsOf: path)
            let ms = Date().timeIntervalSince(t0) * 1000
            XCTAssertGreaterThan(m.config.dim, 0)
            print("loaded \(name) (\(m.config.dim)/\(m.config.numBlock)) in \(String(format: "%.1f", ms)) ms")
        }
    }

    // MARK: bad files

    private var tmp: URL!
    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("csgis-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private func write(_ data: Data, _ name: String = "bad.safetensors") throws -> String {
        let u = tmp.appendingPathComponent(name)
        try data.write(to: u)
        return u.path
    }

    private var tiny: Data { try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tiny-4x1.safetensors"))) }

    /// The tiny model with its JSON header rewritten by `edit`.
    private func editedHeader(_ edit: (String) -> String) -> Data {
        let d = tiny
        let n = Int(d.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = edit(String(decoding: d[8..<(8 + n)], as: UTF8.self))
        var out = Data()
        var len = UInt64(header.utf8.count).littleEndian
        out.append(Data(bytes: &len, count: 8))
        out.append(header.data(using: .utf8)!)
        out.append(d[(8 + n)...])
        return out
    }

    private func assertLoadFails(_ path: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CSGISModel(contentsOf: path), file: file, line: line) { error in
            guard let e = error as? CSGISError else { return XCTFail("not a CSGISError: \(error)", file: file, line: line) }
            for w in words { XCTAssertTrue(e.description.contains(w), "'\(e)' does not mention '\(w)'", file: file, line: line) }
        }
    }

    func testMissingFile() { assertLoadFails(tmp.appendingPathComponent("nope.safetensors").path, mentioning: ["no such file"]) }

    func testEmptyAndTinyFiles() throws {
        assertLoadFails(try write(Data(), "empty"), mentioning: ["too short"])
        assertLoadFails(try write(Data([1, 2, 3]), "three"), mentioning: ["too short"])
    }

    func testTruncatedFile() throws {
        let d = tiny
        assertLoadFails(try write(d.prefix(d.count - 100)), mentioning: ["beyond the end", "truncated"])
        assertLoadFails(try write(d.prefix(200)), mentioning: ["header length"])
    }

    func testAbsurdHeaderLength() throws {
        var d = tiny
        d.replaceSubrange(0..<8, with: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        assertLoadFails(try write(d), mentioning: ["header length"])
    }

    func testNotJSON() throws {
        var d = tiny
        d[8] = UInt8(ascii: "#")
        assertLoadFails(try write(d), mentioning: ["not a JSON object"])
    }

    func testMismatchedConfiguration() throws {
        assertLoadFails(try write(editedHeader { $0.replacingOccurrences(of: "\"dim\":\"4\"", with: "\"dim\":\"8\"") }),
                        mentioning: ["descriptor.conv_in.weight", "[4, 3, 3, 3]", "[8, 3, 3, 3]"])
        assertLoadFails(try write(editedHeader { $0.replacingOccurrences(of: "\"num_block\":\"1\"", with: "\"num_block\":\"2\"") }),
                        mentioning: ["descriptor.res16.1", "missing"])
        assertLoadFails(try write(editedHeader { $0.replacingOccurrences(of: "\"num_block\":\"1\"", with: "\"num_block\":\"0\"") }),
                        mentioning: ["unexpected tensor", "descriptor.res16.0"])
    }

    func testMissingOrBadMetadata() throws {
        assertLoadFails(try write(editedHeader { $0.replacingOccurrences(of: "\"format_version\":\"1\"", with: "\"format_version\":\"9\"") }),
                        mentioning: ["format_version 9"])
        assertLoadFails(try write(editedHeader { $0.replacingOccurrences(of: "\"channel_order\":\"RGB\"", with: "\"channel_order\":\"XYZ\"") }),
                        mentioning: ["channel_order"])
        assertLoadFails(try write(editedHeader { $0.replacingOccurrences(of: "\"format_version\":\"1\",", with: "") }),
                        mentioning: ["format_version"])
    }

    func testUnsupportedDType() throws {
        assertLoadFails(try write(editedHeader { $0.replacingOccurrences(of: "\"F32\"", with: "\"I64\"") }), mentioning: ["I64"])
    }

    func testWrongByteCount() throws {
        assertLoadFails(try write(editedHeader { h in
            // claim a shape that needs more bytes than the tensor's slice holds
            h.replacingOccurrences(of: "\"shape\":[4,3,3,3]", with: "\"shape\":[5,3,3,3]")
        }), mentioning: ["descriptor.conv_in.weight", "needs"])
    }

    func testRandomCorruptionNeverCrashes() throws {
        var rng = SystemRandomNumberGenerator()
        let base = tiny
        for i in 0..<200 {
            var d = base
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let at = Int.random(in: 0..<min(d.count, 1200), using: &rng)
                d[at] = UInt8.random(in: 0...255, using: &rng)
            }
            if i % 3 == 0 { d = d.prefix(Int.random(in: 0..<d.count, using: &rng)) }
            let p = try write(d, "fuzz\(i).safetensors")
            do { _ = try CSGISModel(contentsOf: p) } catch is CSGISError {} // any clear error is fine
        }
    }
}

/// Seeded mutations of a real weights file's header and payload: every one loads or is
/// refused with a CSGISError, none crashes (shape overflow, NaN weights, huge lengths).
final class SafeTensorsFuzzTests: XCTestCase {
    func testMutationsNeverCrash() throws {
        let corpus = try Mutator.corpus { $0.hasSuffix(".safetensors") }
        XCTAssertEqual(corpus.count, 1)
        // mutate mostly the header: keep the corpus file's header plus a little payload
        let seed = corpus.map { Array($0.prefix(8 + Int($0[0]) + Int($0[1]) << 8 + 64)) }
        let (ok, bad, n) = Mutator.run(corpus: seed + corpus, perSeed: 300, seed: 99) { d in
            do { _ = try SafeTensors.parse(Data(d)); return true } catch is CSGISError { return false } catch { XCTFail("\(error)"); return false }
        }
        print("safetensors parser: \(n) mutations, \(ok) parsed, \(bad) refused")
        XCTAssertGreaterThan(bad, 0)
    }
}
