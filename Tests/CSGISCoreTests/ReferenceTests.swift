import XCTest
@testable import CSGISCore

/// The engine against the PyTorch reference (training/csgis/model.py) on committed fixtures.
final class ReferenceTests: XCTestCase {
    func check(model name: String, tolerance: Float) throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("\(name).safetensors"))
        let ref = try Fixtures.reference(name)
        let out = try Engine(model: model, precision: .fp32).smooth(ref.input)
        let expected = zip(ref.out1, ref.out2).map { $0 + $1 }
        print("\(name) fp32: max |result - reference| = \(maxAbsDiff(out.image.pixels, expected)), edge \(maxAbsDiff(out.edge, ref.edge))")
        XCTAssertLessThanOrEqual(maxAbsDiff(out.image.pixels, expected), tolerance, "out1 + out2")
        XCTAssertLessThanOrEqual(maxAbsDiff(out.coarse.pixels, ref.out1), tolerance, "out1")
        let out2 = zip(out.image.pixels, out.coarse.pixels).map { $0 - $1 }
        XCTAssertLessThanOrEqual(maxAbsDiff(out2, ref.out2), tolerance, "out2")
        XCTAssertLessThanOrEqual(maxAbsDiff(out.edge, ref.edge), tolerance, "edge")
        // The reference is not trivially small: a broken engine could not pass by accident.
        XCTAssertGreaterThan(expected.map(abs).max()!, 0.1)
    }

    func testTinyModelFP32MatchesPyTorch() throws { try check(model: "tiny-4x1", tolerance: 1e-4) }

    func testPaperSizedModelFP32MatchesPyTorch() throws { try check(model: "random-64x12", tolerance: 1e-4) }

    /// 64 wide: Winograd's layers where the CPU has them (WinogradTests).
    func testOneBlockWideModelFP32MatchesPyTorch() throws { try check(model: "random-64x1", tolerance: 1e-4) }

    /// Every convolution gets a jit kernel: oneDNN's "ref:any" fallback is ~50x slower (it
    /// was chosen on AVX2 for the ReLU-then-sum residual and made a 512x512 lite run 130 s).
    func testNoConvolutionFallsBackToTheReferenceKernel() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("random-64x12.safetensors"))
        for precision in [Precision.fp32] + (CPUInfo.hasNativeBF16 ? [.bf16] : []) {
            let s = try Engine(model: model, precision: precision)
            _ = try s.smooth(try RGBImage(width: 40, height: 30, pixels: [Float](repeating: 0.5, count: 3600)))
            XCTAssertFalse(s.implementations.isEmpty)
            XCTAssertFalse(s.implementations.contains { $0.hasPrefix("ref") }, "\(precision) on \(CPUInfo.isaName): \(s.implementations)")
        }
    }

    func testRepeatedRunsAndSizeChangesGiveTheSameResult() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let ref = try Fixtures.reference("tiny-4x1")
        let s = try Engine(model: model, precision: .fp32)
        let first = try s.smooth(ref.input)
        _ = try s.smooth(try RGBImage(width: 7, height: 5, pixels: [Float](repeating: 0.5, count: 105)))
        let again = try s.smooth(ref.input)
        XCTAssertEqual(first.image.pixels, again.image.pixels)
    }

    func testBGRModelIsConvertedToRGB() throws {
        let rgb = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let bgr = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1-bgr.safetensors"))
        XCTAssertEqual(bgr.channelOrder, .bgr)
        let ref = try Fixtures.reference("tiny-4x1")
        let a = try Engine(model: rgb, precision: .fp32).smooth(ref.input)
        let b = try Engine(model: bgr, precision: .fp32).smooth(ref.input)
        XCTAssertLessThanOrEqual(maxAbsDiff(a.image.pixels, b.image.pixels), 1e-6)
        XCTAssertLessThanOrEqual(maxAbsDiff(a.edge, b.edge), 1e-6)
    }

    /// bf16 against fp32 of the same engine, on the shipped trained model (a real output
    /// range) and on the random paper-sized model: at least 45 dB after 8-bit quantising.
    func testBF16IsWithinTheAccuracyBound() throws {
        guard CPUInfo.hasNativeBF16 else { throw XCTSkip("no native bf16 on this CPU (\(CPUInfo.isaName))") }
        let ref = try Fixtures.reference("random-64x12")
        for path in [Fixtures.repo.appendingPathComponent("models/csgis-base.safetensors").path, Fixtures.path("random-64x12.safetensors")] {
            let model = try CSGISModel(contentsOf: path)
            let f32 = try Engine(model: model, precision: .fp32).smooth(ref.input)
            let b16 = try Engine(model: model, precision: .bf16).smooth(ref.input)
            let p = psnr8(b16.image.pixels, f32.image.pixels)
            print("bf16 vs fp32 (\(path)): \(p) dB 8-bit PSNR, max abs \(maxAbsDiff(b16.image.pixels, f32.image.pixels))")
            XCTAssertGreaterThanOrEqual(p, 45, "\(path): bf16 vs fp32 8-bit PSNR \(p) dB")
            XCTAssertNotEqual(b16.image.pixels, f32.image.pixels, "bf16 run should differ from fp32 in the last bits")
        }
    }

    func testCancellationStopsTheRun() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let ref = try Fixtures.reference("tiny-4x1")
        XCTAssertThrowsError(try Engine(model: model, precision: .fp32).smooth(ref.input, shouldStop: { true })) {
            XCTAssertEqual($0 as? CSGISError, .cancelled)
        }
    }
}
