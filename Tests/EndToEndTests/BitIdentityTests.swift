import CSGISCore
import Foundation
import XCTest

/// The libvips-style threading test, through the real filter: the same bytes out whatever the
/// tile size, thread count and memory budget, on a photograph and on random noise, with the
/// shipped lite model (the faster one), in fp32 and, where the CPU has it, bf16.
final class BitIdentityTests: XCTestCase {
    let variants = ["", "--tile 32", "--tile 64 --threads 1", "--tile 100", "--tile 256 --threads 2", "--threads 1"]

    func check(input: String, width: Int, height: Int, channels: Int, precision: Precision) throws {
        // Budgets from the smallest that fits upwards: the scheduler answers them with
        // different rows per convolution call (and --tile forces tiles above), so the
        // comparison covers its own choices too.
        let model = try CSGISModel(contentsOf: Harness.repo.appendingPathComponent("models/csgis-lite.safetensors").path)
        var steps: [Int: Int] = [:]  // rows per step -> smallest budget in MB
        let layout = try PixelLayout.samples(width: width, height: height, channels: channels, maxval: 65535)  // the filter's rows
        for mb in 1...256 {
            if let g = (try? Plan.make(model: model.config, precision: try precision.resolved(), width: width, height: height,
                                       access: .rows(rowOverhead: LayoutRows.rowOverhead(input: layout, output: layout)),
                                       budget: mb << 20))?.geometry, steps[g.rowsPerStep] == nil {
                steps[g.rowsPerStep] = mb
            }
        }
        XCTAssertGreaterThanOrEqual(steps.count, 2, "budgets give one schedule only: \(steps)")
        let budgets = steps.values.sorted().map { "--memory \($0)M" }
        var first: Data?
        for v in variants + budgets + ["\(budgets[0]) --threads 1"] {
            let r = try Harness.sh("\"$CSGIS\" --quiet --model lite --precision \(precision.rawValue) \(v) < '\(input)'")
            XCTAssertEqual(r.status, 0, "\(v): \(r.stderr)")
            XCTAssertGreaterThan(r.stdout.count, width * height)
            if let f = first {
                let diff = zip(f, r.stdout).filter { $0 != $1 }.count
                XCTAssertTrue(f == r.stdout, "\(precision) '\(v)' differs from the default run in \(diff) bytes")
            } else { first = r.stdout }
        }
    }

    /// bf16 runs where the CPU computes it natively; elsewhere the test says it was skipped.
    func requireBF16() throws {
        try XCTSkipUnless(CPUInfo.hasNativeBF16, "bf16 not run: this CPU (\(CPUInfo.isaName)) has no native bf16")
    }

    var photo: String { Harness.repo.appendingPathComponent("Tests/Fixtures/photo-kodim23-crop.png").path }

    func testPhotographIsBitIdenticalInFP32() throws {
        try check(input: photo, width: 256, height: 192, channels: 3, precision: .fp32)
    }

    func testPhotographIsBitIdenticalInBF16() throws {
        try requireBF16()
        try check(input: photo, width: 256, height: 192, channels: 3, precision: .bf16)
    }

    func withNoise(_ body: (String) throws -> Void) throws {
        let dir = try Harness.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noise = dir.appendingPathComponent("noise.ppm").path
        XCTAssertEqual(try Harness.sh("convert -size 203x149 xc: -seed 7 +noise Random -depth 16 ppm:'\(noise)'").status, 0)
        try body(noise)
    }

    func testRandomSixteenBitImageIsBitIdenticalInFP32() throws {
        try withNoise { try check(input: $0, width: 203, height: 149, channels: 3, precision: .fp32) }
    }

    func testRandomSixteenBitImageIsBitIdenticalInBF16() throws {
        try requireBF16()
        try withNoise { try check(input: $0, width: 203, height: 149, channels: 3, precision: .bf16) }
    }
}
