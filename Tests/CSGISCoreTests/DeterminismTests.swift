import XCTest
@testable import CSGISCore

/// The same input must give bit-identical output, run after run and engine after engine.
final class DeterminismTests: XCTestCase {
    func testRunsAreBitIdentical() throws {
        let ref = try Fixtures.reference("random-64x12")
        let model = try CSGISModel(contentsOf: Fixtures.path("random-64x12.safetensors"))
        for p in [Precision.fp32] + (CPUInfo.hasNativeBF16 ? [.bf16] : []) {
            let a = try Engine(model: model, precision: p).smooth(ref.input)
            let s = try Engine(model: model, precision: p)
            let b = try s.smooth(ref.input)
            let c = try s.smooth(ref.input)
            XCTAssertEqual(maxAbsDiff(a.image.pixels, b.image.pixels), 0, "\(p): two engines")
            XCTAssertEqual(maxAbsDiff(b.image.pixels, c.image.pixels), 0, "\(p): two runs")
        }
    }
}
