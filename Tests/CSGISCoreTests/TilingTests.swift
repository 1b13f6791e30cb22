import XCTest
@testable import CSGISCore

/// Tiled inference must equal one whole-image pass, at every tile size and thread count
/// (in the manner of libvips's threading test).
final class TilingTests: XCTestCase {
    func image(width: Int, height: Int) throws -> RGBImage { try Fixtures.texturedImage(width: width, height: height) }


    func compare(model name: String, width: Int, height: Int, tiles: [Int], threads: [Int], precision: Precision) throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(name))
        let img = try image(width: width, height: height)
        let whole = try Engine(model: model, precision: precision, threads: 1).smooth(img).image.pixels
        for t in tiles { for n in threads {
            let tiled = try Scheduler(model: model, precision: precision, threads: n, tileSize: t)
            let g = try tiled.plan(width: width, height: height).geometry!
            let out = try tiled.smooth(img).pixels
            // the same floats, not merely close: every output pixel gets the same arithmetic
            XCTAssertEqual(out, whole, "\(name) \(precision) tile \(t) threads \(n): max abs diff \(maxAbsDiff(out, whole))")
            if t < width { XCTAssertGreaterThan(g.tilesAcross * g.tilesDown, 1) }
        } }
    }

    func testTinyModelTilesEqualWholeImage() throws {
        // radius 69: tiles of 32 to 2048 on a 300x170 image, 1 to 8 threads (8 oversubscribes
        // these 2-core machines, so it runs at one tile size only)
        try compare(model: "tiny-4x1.safetensors", width: 300, height: 170, tiles: [32, 64, 100, 2048], threads: [1, 2], precision: .fp32)
        try compare(model: "tiny-4x1.safetensors", width: 300, height: 170, tiles: [100], threads: [8], precision: .fp32)
    }

    func testPaperSizedModelTilesEqualWholeImage() throws {
        try compare(model: "random-64x12.safetensors", width: 290, height: 150, tiles: [128], threads: [2], precision: .fp32)
    }

    func testBF16TilesEqualWholeImage() throws {
        guard CPUInfo.hasNativeBF16 else { throw XCTSkip("no native bf16") }
        try compare(model: "random-64x12.safetensors", width: 290, height: 150, tiles: [100], threads: [1, 2], precision: .bf16)
    }

    /// Where the budget holds the whole image's activations it runs in one pass per layer
    /// (faster); below that it streams rows. Both give the same floats.
    func testDensePassAndRowStreamingGiveTheSameFloats() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("random-64x12.safetensors"))
        let img = try image(width: 150, height: 90)
        let dense = try Scheduler(model: model, precision: .fp32, memoryBudget: 1 << 30)
        XCTAssertEqual(try dense.plan(width: 150, height: 90).mode, .dense)
        let rows = try Scheduler(model: model, precision: .fp32, memoryBudget: 1 << 30, rowsPerStep: 8)
        XCTAssertEqual(try rows.plan(width: 150, height: 90).mode, .rows)
        var fractions: [Double] = []
        let a = try dense.smooth(img, progress: { fractions.append($0.fraction); return true }).pixels
        XCTAssertGreaterThan(fractions.count, 5, "progress between layers in the dense pass")
        XCTAssertEqual(fractions, fractions.sorted())
        XCTAssertEqual(fractions.last!, 1, accuracy: 1e-9)
        XCTAssertEqual(a, try rows.smooth(img).pixels)
        var calls = 0
        XCTAssertThrowsError(try dense.smooth(img, progress: { _ in calls += 1; return calls < 3 })) { XCTAssertEqual($0 as? CSGISError, .cancelled) }
    }

    func testHaloIsTheReceptiveRadius() throws {
        let m = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        XCTAssertEqual(try Scheduler(model: m, tileSize: 32).plan(width: 500, height: 500).geometry?.halo, 69)
        // Too little context must break exactness: shows the comparison above can fail.
        let img = try image(width: 120, height: 90)
        let whole = try Engine(model: m, precision: .fp32).smooth(img).image.pixels
        let cut = try Engine(model: m, precision: .fp32).smooth(try RGBImage(width: 60 + 3, height: 90,
            pixels: (0..<90).flatMap { y in Array(img.pixels[(y * 120) * 3..<(y * 120 + 63) * 3]) })).image.pixels
        var d: Float = 0
        for y in 0..<90 { for x in 0..<60 { for c in 0..<3 { d = max(d, abs(cut[(y * 63 + x) * 3 + c] - whole[(y * 120 + x) * 3 + c])) } } }
        XCTAssertGreaterThan(d, 1e-5, "a 3 px halo (< 69) should change the result")
    }

    func testBudgetTooSmallNamesTheMinimum() throws {
        let m = try CSGISModel(contentsOf: Fixtures.path("random-64x12.safetensors"))
        let t = try Scheduler(model: m, precision: .fp32, memoryBudget: 1 << 20)
        XCTAssertThrowsError(try t.plan(width: 4000, height: 3000)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("too small") && s.contains("at least"), s)
        }
    }

    func testSchedulerKeepsOverheadLowAtDefaultBudget() throws {
        let m = try CSGISModel(contentsOf: Fixtures.repo.appendingPathComponent("models/csgis-base.safetensors").path)
        let g = try Plan.make(model: m.config, precision: .fp32, width: 2048, height: 2048, access: .rows()).geometry!
        XCTAssertLessThanOrEqual(g.overhead, 1.35)
        let small = try Plan.make(model: m.config, precision: .fp32, width: 2048, height: 2048, access: .rows(), budget: 256 << 20).geometry!
        XCTAssertLessThanOrEqual(small.estimatedBytes, 256 << 20)
        XCTAssertGreaterThan(small.tilesAcross * small.tilesDown, 1)
    }

    func testStrengthZeroIsIdentityAndStrengthBlends() throws {
        let m = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let img = try image(width: 50, height: 40)
        let t = try Scheduler(model: m, precision: .fp32)
        XCTAssertEqual(try t.smooth(img, strength: 0).pixels, img.pixels)
        XCTAssertEqual(try t.plan(width: 50, height: 40, strength: 0).mode, .passThrough)
        let full = try t.smooth(img).pixels, half = try t.smooth(img, strength: 0.5).pixels
        for i in stride(from: 0, to: full.count, by: 97) {
            XCTAssertEqual(half[i], img.pixels[i] + 0.5 * (full[i] - img.pixels[i]), accuracy: 1e-6)
        }
        XCTAssertThrowsError(try t.smooth(img, strength: 1.5))
    }

    func testProgressAndCancellation() throws {
        let m = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let img = try image(width: 200, height: 120)
        let t = try Scheduler(model: m, precision: .fp32, tileSize: 50)
        var fractions: [Double] = []
        _ = try t.smooth(img, progress: { fractions.append($0.fraction); return true })
        XCTAssertGreaterThanOrEqual(fractions.count, 12)  // at least once per tile
        XCTAssertEqual(fractions.last!, 1, accuracy: 1e-9)
        XCTAssertEqual(fractions, fractions.sorted())
        var calls = 0
        XCTAssertThrowsError(try t.smooth(img, progress: { _ in calls += 1; return calls < 3 })) { XCTAssertEqual($0 as? CSGISError, .cancelled) }
        XCTAssertEqual(calls, 3)
        XCTAssertThrowsError(try t.smooth(img, shouldStop: { true })) { XCTAssertEqual($0 as? CSGISError, .cancelled) }
    }
}

final class DefaultBudgetTests: XCTestCase {
    func testDefaultBudgetIsHalfOfAvailableMemory() throws {
        let text = String(decoding: FileHandle(forReadingAtPath: "/proc/meminfo")!.readDataToEndOfFile(), as: UTF8.self)
        let kb = Int(text.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") }!.split(separator: " ")[1])!
        // MemAvailable moves a little between the two reads
        XCTAssertEqual(Double(Plan.defaultBudget), Double(kb * 1024 / 2), accuracy: Double(kb * 1024) * 0.05)
    }
}
