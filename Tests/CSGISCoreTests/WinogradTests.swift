import CDNNL
import XCTest
@testable import CSGISCore

/// Winograd (fp32): F(2x2, 3x3) on every AVX2 CPU (a grid of 12), else oneDNN's F(4x4, 3x3)
/// on AVX-512 (a grid of 4); the planner keeps every plan on the whole image's grid. Tiles, bands, strips and row streaming at any forced size
/// (rounded onto the grid) and thread count must give the whole image's floats exactly.
/// With CSGIS_WINOGRAD=0 the same checks run on the direct kernels.
final class WinogradTests: XCTestCase {
    let fixture = "random-64x1.safetensors"

    func testTheKernelRunsWhereTheCPUHasIt() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        let layers = Winograd.layers(model.config, .fp32)
        XCTAssertTrue(Winograd.layers(model.config, .bf16).isEmpty, "fp32 only")
        XCTAssertTrue(Winograd.layers(model.config, .int8).isEmpty, "fp32 only")
        let e = try Engine(model: model, precision: .fp32)
        _ = try e.smooth(try Fixtures.texturedImage(width: 40, height: 30))
        guard Winograd.available, !Winograd2.available else {
            XCTAssertTrue(layers.isEmpty)
            XCTAssertFalse(e.implementations.contains { $0.contains("jit_wino") }, "\(e.implementations)")
            throw XCTSkip("no oneDNN Winograd kernel on \(CPUInfo.isaName) (or CSGIS_WINOGRAD=0), or F(2x2, 3x3) supersedes it (CSGIS_WINOGRAD2=0 brings it back)")
        }
        let specs = model.config.layers
        XCTAssertFalse(layers.isEmpty)
        XCTAssertTrue(layers.allSatisfy { specs[$0].dilation == 1 && specs[$0].cin >= 16 })
        XCTAssertTrue(e.implementations.contains("jit_wino_4x3:avx512_core"), "\(e.implementations)")
        let halo = Winograd.halo(model.config, .fp32)
        XCTAssertEqual(halo % Winograd.alignment, 0)
        XCTAssertGreaterThanOrEqual(halo, model.config.receptiveRadius + Winograd.extraHaloPerLayer * layers.count)
    }

    /// F(2x2, 3x3) on every CPU with AVX2 and FMA: every 8-aligned layer, any dilation,
    /// origins on a grid of 12, no extra halo, oneDNN's Winograd off.
    func testF2x2RunsOnEveryAVX2CPU() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        let layers = Winograd2.layers(model.config, .fp32)
        XCTAssertTrue(Winograd2.layers(model.config, .int8).isEmpty, "no int8 form")
        let e = try Engine(model: model, precision: .fp32)
        _ = try e.smooth(try Fixtures.texturedImage(width: 40, height: 30))
        guard !layers.isEmpty else {
            XCTAssertFalse(Winograd2.available)
            XCTAssertFalse(e.implementations.contains { $0.hasPrefix("csgis_winograd2") }, "\(e.implementations)")
            throw XCTSkip("F(2x2, 3x3) needs AVX2 and FMA and CSGIS_WINOGRAD2 and CSGIS_WINOGRAD not 0")
        }
        let specs = model.config.layers
        XCTAssertTrue(e.implementations.contains(Winograd2.implementation(.fp32)), "\(e.implementations)")
        XCTAssertFalse(e.implementations.contains { $0.contains("jit_wino") }, "\(e.implementations)")
        XCTAssertTrue(Winograd.layers(model.config, .fp32).isEmpty)
        XCTAssertTrue(layers.contains { specs[$0].dilation == 3 })
        XCTAssertEqual(Winograd.grid(model.config, .fp32), 12)
        XCTAssertEqual(Winograd.rowAlignment(model.config, .fp32), 1)
        XCTAssertEqual(Winograd.halo(model.config, .fp32), (model.config.receptiveRadius + 11) / 12 * 12)
    }

    /// Its AVX-512 products and its AVX2 ones give the same floats (the same FMA chains), so a
    /// result does not depend on which of the two the CPU runs.
    func testF2x2AVX512AndAVX2ProductsAgree() throws {
        guard Winograd2.available, csgis_wino2_avx512() != 0 else { throw XCTSkip("no AVX-512 products on this CPU (or F(2x2, 3x3) off)") }
        let old = getenv("CSGIS_WINO2_ISA").map { String(cString: $0) }
        defer { if let old { setenv("CSGIS_WINO2_ISA", old, 1) } else { unsetenv("CSGIS_WINO2_ISA") } }
        for f in [fixture, "random-64x12.safetensors"] {
            let model = try CSGISModel(contentsOf: Fixtures.path(f))
            let img = try Fixtures.texturedImage(width: 61, height: 37)
            unsetenv("CSGIS_WINO2_ISA")
            let e = try Engine(model: model, precision: .fp32)
            let wide = try e.smooth(img).image.pixels
            XCTAssertTrue(e.implementations.contains("csgis_winograd2:avx512"), "\(e.implementations)")
            setenv("CSGIS_WINO2_ISA", "avx2", 1)
            let narrow = try Engine(model: model, precision: .fp32).smooth(img).image.pixels
            XCTAssertEqual(wide, narrow, "\(f): max abs diff \(maxAbsDiff(wide, narrow))")
        }
    }

    /// Its bf16 form on AVX512-BF16 without AMX: the same layers, bf16 in and out, the same
    /// grid (its tiles and row steps: `testTilesAndRowStepsGiveTheWholeImagesFloats`).
    func testF2x2BF16RunsWithoutAMX() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        let layers = Winograd2.layers(model.config, .bf16)
        guard Winograd2.bf16Available else {
            XCTAssertTrue(layers.isEmpty)
            throw XCTSkip("the bf16 form needs AVX512-BF16 and no AMX (this CPU: \(CPUInfo.isaName))")
        }
        XCTAssertEqual(layers, Winograd2.layers(model.config, .fp32))
        XCTAssertEqual(Winograd.grid(model.config, .bf16), 12)
        let e = try Engine(model: model, precision: .bf16, threads: 1)
        _ = try e.smooth(try Fixtures.texturedImage(width: 40, height: 30))
        XCTAssertTrue(e.implementations.contains(Winograd2.implementation(.bf16)), "\(e.implementations)")
    }

    /// A region run on `Engine.inputRect`'s part of the image (context grown, origin on the
    /// grid) gives the whole image's floats over the region, at every precision here.
    func testTheInputRectOfARegionGivesTheWholeImagesFloats() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        let (w, h) = (420, 64)
        let img = try Fixtures.texturedImage(width: w, height: h)
        for p in [Precision.fp32] + (CPUInfo.hasNativeBF16 ? [.bf16] : []) {
            let e = try Engine(model: model, precision: p, threads: 1)
            let whole = try e.smooth(img).image.pixels
            for rect in [(x: 251, y: 7, width: 50, height: 20), (x: 3, y: 40, width: 17, height: 24)] {
                let r = e.inputRect(for: rect, width: w, height: h)
                XCTAssertEqual(r.x % Winograd.grid(model.config, p), 0)
                XCTAssertLessThanOrEqual(r.x, rect.x - min(rect.x, model.config.receptiveRadius))
                XCTAssertGreaterThanOrEqual(r.x + r.width, min(w, rect.x + rect.width + model.config.receptiveRadius))
                var sub = [Float]()
                for y in r.y..<(r.y + r.height) { sub += img.pixels[((y * w + r.x) * 3)..<((y * w + r.x + r.width) * 3)] }
                let out = try e.smooth(try RGBImage(width: r.width, height: r.height, pixels: sub)).image.pixels
                for y in rect.y..<(rect.y + rect.height) {
                    let a = Array(out[(((y - r.y) * r.width + rect.x - r.x) * 3)..<(((y - r.y) * r.width + rect.x - r.x + rect.width) * 3)])
                    let b = Array(whole[((y * w + rect.x) * 3)..<((y * w + rect.x + rect.width) * 3)])
                    XCTAssertEqual(a, b, "\(p), rect \(rect) from \(r), row \(y): max abs diff \(maxAbsDiff(a, b))")
                    if a != b { break }
                }
            }
        }
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

    /// Forced tiles of 37 and 100 px (rounded onto the grid) and rows per step 1 and 8, in
    /// fp32 and (where its Winograd runs) bf16, on images whose sides are not multiples of
    /// 4: a wide one (tiles across) and a tall one (tiles down), each thin enough for a
    /// test's seconds at this model's 108 px halo.
    func testTilesAndRowStepsGiveTheWholeImagesFloats() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path(fixture))
        for p in [Precision.fp32] + (Winograd2.bf16Available ? [.bf16] : []) {
          for (w, h) in [(341, 45), (43, 319)] {
            let img = try Fixtures.texturedImage(width: w, height: h)
            let whole = try Engine(model: model, precision: p, threads: 1).smooth(img).image.pixels
            for (tile, rows, threads) in [(37, 1, 2), (100, 8, 1), (nil, 1, 2), (nil, 8, 1)] as [(Int?, Int, Int)] {
                let s = try Scheduler(model: model, precision: p, threads: threads, memoryBudget: 1 << 30, tileSize: tile, rowsPerStep: rows)
                let g = try s.plan(width: w, height: h).geometry!
                XCTAssertEqual(g.rowsPerStep % Winograd.rowAlignment(model.config, p), 0)
                XCTAssertTrue(g.tileWidth % g.grid == 0 || g.tileWidth == w, "tile width \(g.tileWidth) off the grid")
                if tile != nil { XCTAssertGreaterThan(g.tilesAcross * g.tilesDown, 1, "\(w)x\(h), tile \(tile!): several tiles") }
                let out = try s.smooth(img).pixels
                XCTAssertEqual(out, whole, "\(p) \(w)x\(h), tile \(tile ?? 0), rows \(rows), threads \(threads): max abs diff \(maxAbsDiff(out, whole))")
            }
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
