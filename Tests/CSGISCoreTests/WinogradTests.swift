import XCTest
@testable import CSGISCore

/// Winograd (fp32 on AVX-512): its floats follow a 4x4 grid, so the planner keeps every
/// plan on the whole image's grid. Tiles, bands, strips and row streaming at any forced size
/// (rounded onto the grid) and thread count must give the whole image's floats exactly.
/// Elsewhere (AVX2, DNNL_MAX_CPU_ISA=AVX2, CSGIS_WINOGRAD=0) the same checks run on the
/// direct kernels.
final class WinogradTests: XCTestCase {
    let fixture = "random-64x1.safetensors"

    func testTheKernelRunsWhereTheCPUHasIt() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        let layers = Winograd.layers(model.config, .fp32)
        XCTAssertTrue(Winograd.layers(model.config, .bf16).isEmpty, "fp32 only")
        XCTAssertTrue(Winograd.layers(model.config, .int8).isEmpty, "fp32 only")
        let e = try Engine(model: model, precision: .fp32)
        _ = try e.smooth(try Fixtures.texturedImage(width: 40, height: 30))
        guard Winograd.available else {
            XCTAssertTrue(layers.isEmpty)
            XCTAssertFalse(e.implementations.contains { $0.contains("jit_wino") }, "\(e.implementations)")
            throw XCTSkip("no Winograd kernel on \(CPUInfo.isaName) (or CSGIS_WINOGRAD=0)")
        }
        let specs = model.config.layers
        XCTAssertFalse(layers.isEmpty)
        XCTAssertTrue(layers.allSatisfy { specs[$0].dilation == 1 && specs[$0].cin >= 16 })
        XCTAssertTrue(e.implementations.contains("jit_wino_4x3:avx512_core"), "\(e.implementations)")
        let halo = Winograd.halo(model.config, .fp32)
        XCTAssertEqual(halo % Winograd.alignment, 0)
        XCTAssertGreaterThanOrEqual(halo, model.config.receptiveRadius + Winograd.extraHaloPerLayer * layers.count)
    }

    /// F(2x2, 3x3) on AVX2 (and under DNNL_MAX_CPU_ISA=AVX2): every 8-aligned layer, any
    /// dilation, origins on a grid of 12, no extra halo.
    func testF2x2RunsWhereThePlanIsBlocked() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        let layers = Winograd2.layers(model.config, .fp32)
        XCTAssertTrue(Winograd2.layers(model.config, .bf16).isEmpty, "fp32 only")
        let e = try Engine(model: model, precision: .fp32)
        _ = try e.smooth(try Fixtures.texturedImage(width: 40, height: 30))
        guard !layers.isEmpty else {
            XCTAssertFalse(e.implementations.contains(Winograd2.implementation), "\(e.implementations)")
            throw XCTSkip("F(2x2, 3x3) runs on AVX2 only (this CPU: \(CPUInfo.isaName)), with CSGIS_WINOGRAD2=1")
        }
        let specs = model.config.layers
        XCTAssertTrue(e.implementations.contains(Winograd2.implementation), "\(e.implementations)")
        XCTAssertTrue(layers.contains { specs[$0].dilation == 3 })
        XCTAssertEqual(Winograd.grid(model.config, .fp32), 12)
        XCTAssertEqual(Winograd.rowAlignment(model.config, .fp32), 1)
        XCTAssertEqual(Winograd.halo(model.config, .fp32), (model.config.receptiveRadius + 11) / 12 * 12)
    }

    func testAnUnknownSettingIsRefused() throws {
        let old = getenv("CSGIS_WINOGRAD").map { String(cString: $0) }
        defer { if let old { setenv("CSGIS_WINOGRAD", old, 1) } else { unsetenv("CSGIS_WINOGRAD") } }
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        setenv("CSGIS_WINOGRAD", "off", 1)
        XCTAssertThrowsError(try Engine(model: model, precision: .fp32)) { XCTAssertTrue("\($0)".contains("CSGIS_WINOGRAD is 'off'"), "\($0)") }
        for v in ["0", "1"] {
            setenv("CSGIS_WINOGRAD", v, 1)
            XCTAssertNoThrow(try Engine(model: model, precision: .fp32))
        }
    }

    /// Forced tiles of 37 (rounded to 40) and 100 px and rows per step 1 (rounded to 4) and
    /// 8, on images whose sides are not multiples of 4: a wide one (tiles across) and a tall
    /// one (tiles down), each thin enough for a test's seconds at this model's 108 px halo.
    func testTilesAndRowStepsGiveTheWholeImagesFloats() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        for (w, h) in [(341, 45), (43, 319)] {
            let img = try Fixtures.texturedImage(width: w, height: h)
            let whole = try Engine(model: model, precision: .fp32, threads: 1).smooth(img).image.pixels
            for (tile, rows, threads) in [(37, 1, 2), (100, 8, 1), (nil, 1, 2), (nil, 8, 1)] as [(Int?, Int, Int)] {
                let s = try Scheduler(model: model, precision: .fp32, threads: threads, memoryBudget: 1 << 30, tileSize: tile, rowsPerStep: rows)
                let g = try s.plan(width: w, height: h).geometry!
                XCTAssertEqual(g.rowsPerStep % Winograd.rowAlignment(model.config, .fp32), 0)
                XCTAssertTrue(g.tileWidth % g.grid == 0 || g.tileWidth == w, "tile width \(g.tileWidth) off the grid")
                if tile != nil { XCTAssertGreaterThan(g.tilesAcross * g.tilesDown, 1, "\(w)x\(h), tile \(tile!): several tiles") }
                let out = try s.smooth(img).pixels
                XCTAssertEqual(out, whole, "\(w)x\(h), tile \(tile ?? 0), rows \(rows), threads \(threads): max abs diff \(maxAbsDiff(out, whole))")
            }
        }
    }

    /// Full-height strips (the caller's memory, a small budget): origins on the grid, the same floats.
    func testStripsGiveTheWholeImagesFloats() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        let (w, h) = (701, 42)
        let img = try Fixtures.texturedImage(width: w, height: h)
        let whole = try Engine(model: model, precision: .fp32, threads: 1).smooth(img).image.pixels
        var plan: Plan?
        for mb in 1...64 where plan == nil {
            if let p = try? Plan.make(model: model.config, precision: .fp32, width: w, height: h, access: .regions, budget: mb << 20),
               p.mode == .strips { plan = p }
        }
        let p = try XCTUnwrap(plan, "no budget gives strips")
        XCTAssertGreaterThan(p.geometry!.tilesAcross, 1)
        let s = try Scheduler(model: model, precision: .fp32, memoryBudget: p.budget)
        let image = ArrayImage(img)
        try s.run(try s.plan(width: w, height: h, access: .regions), image: image)
        XCTAssertEqual(image.output, whole, "strips: max abs diff \(maxAbsDiff(image.output, whole))")
    }
}
