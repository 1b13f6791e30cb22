import XCTest
@testable import CSGISCore

/// Row streaming through the layers must give exactly the bytes of one whole-image pass.
final class StreamingTests: XCTestCase {
    func streamed(_ s: Engine, _ img: RGBImage, rows: Int) throws -> [Float] {
        var out = [Float](repeating: .nan, count: img.pixels.count)
        var next = 0
        let rf = img.width * 3
        try s.stream(width: img.width, height: img.height, rowsPerStep: rows, read: { n, p in
            img.pixels.withUnsafeBufferPointer { p.update(from: $0.baseAddress! + next * rf, count: n * rf) }
            next += n
        }, write: { y, n, r, _ in
            for i in 0..<(n * rf) { out[y * rf + i] = r[i] }
        }, shouldStop: { false })
        return out
    }

    func testStreamEqualsWholeImage() throws {
        for name in ["tiny-4x1", "random-64x12"] {
            let model = try CSGISModel(contentsOf: Fixtures.path("\(name).safetensors"))
            let img = try Fixtures.texturedImage(width: 97, height: 61)
            let whole = try Engine(model: model, precision: .fp32).smooth(img).image.pixels
            // on Winograd's grid (fp32 on AVX-512, the 64-wide model) row blocks are multiples of 4
            let steps = Winograd.rowAlignment(model.config, .fp32) == 1 ? [1, 2, 5, 8] : [4, 8, 12]
            for rows in steps {
                let s = try Engine(model: model, precision: .fp32, threads: rows == 5 || rows == 12 ? 1 : 0)
                let out = try streamed(s, img, rows: rows)
                print("\(name) rows \(rows): max diff \(maxAbsDiff(out, whole)), equal \(out == whole), windows \(try s.streamingPlan(width: 97, height: 61, rowsPerStep: rows).windowBytes)")
                XCTAssertEqual(out, whole, "\(name), \(rows) rows per step")
            }
        }
    }
}
