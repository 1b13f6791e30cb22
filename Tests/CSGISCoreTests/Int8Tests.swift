import XCTest
@testable import CSGISCore

/// The int8 path: close to fp32 on a photo, exact across tiles and streaming like every
/// precision, and refused for a model without calibration. On every CPU: the weights get 8
/// bits with VNNI/AMX and 7 without, so only a floor on the accuracy is asserted.
final class Int8Tests: XCTestCase {
    static let lite = Fixtures.repo.appendingPathComponent("models/csgis-lite.safetensors").path

    /// The shipped lite model at int8 against itself at fp32 on the textured fixture (a
    /// synthetic, noisier than a photo): measured 40.0 dB with VNNI, 40.1 without. (The
    /// filter's test does the same on a photo.)
    func testInt8IsCloseToFP32() throws {
        let model = try CSGISModel(contentsOf: Int8Tests.lite)
        XCTAssertNotNil(model.activationMax, "the shipped lite model carries its int8 calibration")
        for (name, img, floor) in [("texture", try Fixtures.texturedImage(width: 96, height: 64), 35.0)] {
            let f = try Engine(model: model, precision: .fp32, threads: 1).smooth(img)
            let q = try Engine(model: model, precision: .int8, threads: 1).smooth(img)
            let p = psnr8(f.image.pixels, q.image.pixels)
            print("int8 vs fp32 on the \(name) (\(CPUInfo.isaName), VNNI \(CPUInfo.hasVNNI)): \(String(format: "%.2f", p)) dB")
            XCTAssertGreaterThan(p, floor, name)
            XCTAssertLessThan(maxAbsDiff(f.edge, q.edge), 1, name)
        }
    }

    /// Tiles, thread counts and row streaming give exactly the whole image's int8 result.
    func testInt8TilesAndRowsEqualWholeImage() throws {
        let model = try CSGISModel(contentsOf: Int8Tests.lite)
        let (w, h) = (210, 130)
        let img = try Fixtures.texturedImage(width: w, height: h)
        let whole = try Engine(model: model, precision: .int8, threads: 1).smooth(img).image.pixels
        for (tile, threads) in [(64, 1), (100, 2)] {
            let t = try Scheduler(model: model, precision: .int8, threads: threads, tileSize: tile)
            XCTAssertGreaterThan(try t.plan(width: w, height: h).geometry!.tilesAcross, 1)
            let out = try t.smooth(img).pixels
            XCTAssertEqual(out, whole, "tile \(tile) threads \(threads): max abs diff \(maxAbsDiff(out, whole))")
        }
        for r in [1, 8] {
            let rows = try Scheduler(model: model, precision: .int8, memoryBudget: 1 << 30, rowsPerStep: r)
            XCTAssertEqual(try rows.plan(width: w, height: h).mode, .rows)
            XCTAssertEqual(try rows.smooth(img).pixels, whole, "\(r) rows per step")
        }
    }

    func testModelWithoutCalibrationIsRefused() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        XCTAssertNil(model.activationMax)
        XCTAssertThrowsError(try Engine(model: model, precision: .int8)) { e in
            XCTAssertTrue("\(e)".contains("int8.activation_max") && "\(e)".contains("export.py calibrate"), "\(e)")
        }
        XCTAssertNoThrow(try Engine(model: model, precision: .fp32))
    }

    /// A calibration with a negative value, or of the wrong length, is refused at load.
    func testBadCalibrationIsRefusedAtLoad() throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: Int8Tests.lite))
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: data[8..<(8 + n)]) as! [String: Any]
        let entry = header["int8.activation_max"] as! [String: Any]
        let start = 8 + n + (entry["data_offsets"] as! [Int])[0]
        switch entry["dtype"] as? String {  // the first value becomes -1.0
        case "F16": data[start] = 0x00; data[start + 1] = 0xBC
        case "F32": data[start] = 0; data[start + 1] = 0; data[start + 2] = 0x80; data[start + 3] = 0xBF
        case let t: return XCTFail("calibration stored as \(t ?? "?")")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("csgis-int8-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try data.write(to: url)
        XCTAssertThrowsError(try CSGISModel(contentsOf: url.path)) { XCTAssertTrue("\($0)".contains("int8.activation_max"), "\($0)") }
    }

    /// The steps the wiring implies: a ReLU's output is unsigned, a concat packs each part at
    /// its own step, and the convolution reading it folds those steps into its weights.
    func testQuantizationFollowsTheWiring() throws {
        let model = try CSGISModel(contentsOf: Int8Tests.lite)
        let g = Graph(config: model.config, precision: .int8)
        let q = Quantization(graph: g, convs: Graph.convs(of: model), activationMax: model.activationMax!, vnni: true)
        XCTAssertEqual(g.nodes[1].type, .u8, "the input, converted")
        // the descriptor's skip chain starts from conv_in (no ReLU): signed; the interpreter's
        // and refine's start after a ReLU: unsigned throughout
        XCTAssertEqual(g.nodes.filter { $0.type == .s8 }.count, 1 + model.config.numBlock + 2, "descriptor chain, f1, f2")
        XCTAssertEqual(q.step[1], 1 / 255)
        for op in g.ops {
            guard case let .conv(layer, src, relu, _, sumOnto) = op.kind, let d = op.dst else { continue }
            let t = g.nodes[d].type
            let unsigned = relu && (sumOnto.map { g.nodes[$0].type == .u8 } ?? true)
            XCTAssertEqual(t, d == g.resultNode || d == g.out1Node || d == g.edgeNode ? .f32 : unsigned ? .u8 : .s8)
            if t != .f32 { XCTAssertEqual(q.step[d], max(model.activationMax![layer], 1e-6) / t.levels, accuracy: 1e-9) }
            XCTAssertTrue(q.layers[layer].weights.allSatisfy { $0 != -128 })
            XCTAssertEqual(q.layers[layer].weights.map { abs(Int($0)) }.max(), 127, "each layer uses the full range")
            _ = src
        }
        let w = Quantization(graph: g, convs: Graph.convs(of: model), activationMax: model.activationMax!, vnni: false)
        for op in g.ops {
            guard case let .conv(layer, src, _, _, _) = op.kind else { continue }
            let l = w.layers[layer].weights
            if g.nodes[src].type == .u8 { XCTAssertLessThanOrEqual(l.map { abs(Int($0)) }.max()!, 63) } else { XCTAssertTrue(l.allSatisfy { $0 % 2 == 0 }) }
        }
    }
}
