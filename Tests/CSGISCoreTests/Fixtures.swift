import Foundation
import XCTest
@testable import CSGISCore

/// Paths of the committed fixtures (Tests/Fixtures, made by training/make_fixtures.py).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let dir = root.appendingPathComponent("Fixtures")
    static let repo = root.deletingLastPathComponent()
    static func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A fixture's input and PyTorch float64 reference outputs.
    struct Reference {
        var input: RGBImage
        var out1: [Float], out2: [Float], edge: [Float]
    }

    static func reference(_ name: String) throws -> Reference {
        let (t, _) = try SafeTensors.read(path: path("\(name)-io.safetensors"))
        let inp = t["input"]!
        return Reference(input: try RGBImage(width: inp.shape[1], height: inp.shape[0], pixels: inp.values),
                         out1: t["out1"]!.values, out2: t["out2"]!.values, edge: t["edge"]!.values)
    }
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// PSNR in dB between two images after clipping to 0...1 and quantising to 8 bits.
func psnr8(_ a: [Float], _ b: [Float]) -> Double {
    func q(_ x: Float) -> Double { (Double(min(max(x, 0), 1)) * 255).rounded() }
    let mse = zip(a, b).reduce(0.0) { $0 + pow(q($1.0) - q($1.1), 2) } / Double(a.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

extension Fixtures {
    /// A textured test image of any size, made from the fixture input by mirroring.
    static func texturedImage(width: Int, height: Int) throws -> RGBImage {
        let ref = try Fixtures.reference("random-64x12").input
        var px = [Float](repeating: 0, count: width * height * 3)
        for y in 0..<height { for x in 0..<width {
            let sx = (x / ref.width) % 2 == 0 ? x % ref.width : ref.width - 1 - x % ref.width
            let sy = (y / ref.height) % 2 == 0 ? y % ref.height : ref.height - 1 - y % ref.height
            for c in 0..<3 { px[(y * width + x) * 3 + c] = ref.pixels[(sy * ref.width + sx) * 3 + c] + Float(x % 7) * 0.01 }
        } }
        return try RGBImage(width: width, height: height, pixels: px)
    }
}
