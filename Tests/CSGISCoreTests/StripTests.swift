import XCTest
@testable import CSGISCore

/// An RGB float image in memory, read and written by column range.
final class ArrayImage: RandomAccessImage {
    let width: Int
    var input: [Float], output: [Float]
    var writes = 0
    init(_ img: RGBImage) { width = img.width; input = img.pixels; output = [Float](repeating: .nan, count: img.pixels.count) }
    func readRows(_ first: Int, _ count: Int, columns: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws {
        for r in 0..<count { for x in columns { for c in 0..<3 {
            buffer[(r * columns.count + x - columns.lowerBound) * 3 + c] = input[((first + r) * width + x) * 3 + c]
        } } }
    }
    func writeRows(_ first: Int, _ count: Int, columns: Range<Int>, from buffer: UnsafePointer<Float>) throws {
        writes += 1
        for r in 0..<count { for x in columns { for c in 0..<3 {
            output[((first + r) * width + x) * 3 + c] = buffer[(r * columns.count + x - columns.lowerBound) * 3 + c]
        } } }
    }
}

/// A random-access image (the caller's memory) too wide for the budget runs in strips of
/// the full height: no bands held, less recomputation than bands, the same floats.
final class StripTests: XCTestCase {
    func testStripsEqualTheWholeImageAndCostLessThanBands() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let (w, h) = (640, 160)
        let img = try Fixtures.texturedImage(width: w, height: h)
        let whole = try Engine(model: model, precision: .fp32, threads: 1).smooth(img).image.pixels
        // the smallest budget in 16 KB steps at which strips are chosen with little recomputation
        var found: (budget: Int, strips: TileGeometry, bands: TileGeometry)?
        for kb in stride(from: 1024, to: 64 << 10, by: 16) where found == nil {
            func plan(_ access: ImageAccess) -> Plan? {
                try? Plan.make(model: model.config, precision: .fp32, width: w, height: h, access: access, budget: kb << 10)
            }
            if let s = plan(.regions), s.mode == .strips, s.geometry!.overhead < 2.2, let b = plan(.rows()), b.mode == .bands {
                found = (kb << 10, s.geometry!, b.geometry!)
            }
        }
        let f = try XCTUnwrap(found, "no budget gives strips")
        print("strips at \(f.budget) bytes: \(f.strips.tilesAcross) strips, overhead \(f.strips.overhead); bands: \(f.bands.tilesAcross * f.bands.tilesDown) tiles, overhead \(f.bands.overhead)")
        XCTAssertGreaterThan(f.strips.tilesAcross, 1)
        XCTAssertEqual(f.strips.tilesDown, 1)
        XCTAssertLessThan(f.strips.overhead, f.bands.overhead, "strips recompute less than bands at \(f.budget) bytes")
        XCTAssertLessThanOrEqual(f.strips.estimatedBytes, f.budget)
        for (threads, strength) in [(1, Float(1)), (2, Float(0.6))] {
            let t = try Scheduler(model: model, precision: .fp32, threads: threads, memoryBudget: f.budget)
            let image = ArrayImage(img)
            var fractions: [Double] = []
            let plan = try t.plan(width: w, height: h, access: .regions, strength: strength)
            XCTAssertEqual(plan.mode, .strips)
            try t.run(plan, image: image, progress: { fractions.append($0.fraction); return true })
            let expected = strength == 1 ? whole : zip(img.pixels, whole).map { $0 + strength * ($1 - $0) }
            XCTAssertEqual(image.output, expected, "threads \(threads): max abs diff \(maxAbsDiff(image.output, expected))")
            XCTAssertGreaterThan(image.writes, f.strips.tilesAcross, "written strip by strip, row block by row block")
            XCTAssertEqual(fractions.last ?? 0, 1, accuracy: 1e-9)
        }
        // cancel from the progress callback
        let t = try Scheduler(model: model, precision: .fp32, memoryBudget: f.budget)
        var calls = 0
        XCTAssertThrowsError(try t.run(try t.plan(width: w, height: h, access: .regions), image: ArrayImage(img),
                                       progress: { _ in calls += 1; return calls < 3 })) {
            XCTAssertEqual($0 as? CSGISError, .cancelled)
        }
    }
}
