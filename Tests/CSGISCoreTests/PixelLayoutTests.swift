@testable import CSGISCore
import XCTest

/// The one sample conversion: integer samples over any maxval, f32, alpha at any position,
/// grey replicated and averaged back, clipping and NaN, and the row adapter around it.
final class PixelLayoutTests: XCTestCase {
    func testValidation() {
        func refused(_ make: () throws -> PixelLayout, _ phrase: String) {
            XCTAssertThrowsError(try make()) { XCTAssertTrue("\($0)".contains(phrase), "\($0)") }
        }
        refused({ try PixelLayout(width: 0, height: 1, channels: 3, alpha: -1, sample: .u8) }, "empty")
        refused({ try PixelLayout(width: 1, height: 1, channels: 5, alpha: -1, sample: .u8) }, "channels")
        refused({ try PixelLayout(width: 1, height: 1, channels: 3, alpha: 3, sample: .u8) }, "not a channel")
        refused({ try PixelLayout(width: 1, height: 1, channels: 2, alpha: -1, sample: .u8) }, "colour channels")
        refused({ try PixelLayout(width: 4, height: 1, channels: 3, alpha: -1, sample: .u16, stride: 10) }, "stride")
        refused({ try PixelLayout(width: 1, height: 1, channels: 1, alpha: -1, sample: .u8, maxval: 256) }, "maxval")
        refused({ try PixelLayout(width: 1, height: 3, channels: 1, alpha: -1, sample: .u8, stride: Int.max) }, "overflows")
        XCTAssertEqual(try PixelLayout(width: 5, height: 1, channels: 4, alpha: 0, sample: .f32).stride, 80)
        XCTAssertEqual(try PixelLayout.samples(width: 5, height: 1, channels: 2, maxval: 1000).alpha, 1)
    }

    /// netpbm's byte order: the same floats as native samples of the same values, and back.
    func testBigEndianSamplesMeanWhatNativeOnesDo() throws {
        let n = 65536
        let be = try PixelLayout(width: n, height: 1, channels: 1, alpha: -1, sample: .u16BigEndian)
        let native = try PixelLayout(width: n, height: 1, channels: 1, alpha: -1, sample: .u16)
        let values = (0..<n).map { UInt16($0) }
        var a = [Float](repeating: 0, count: 3 * n), b = a
        values.withUnsafeBytes { native.toRGB($0.baseAddress!, &a) }
        values.map { $0.bigEndian }.withUnsafeBytes { be.toRGB($0.baseAddress!, &b) }
        XCTAssertEqual(a, b)
        var back = [UInt16](repeating: 0, count: n)
        back.withUnsafeMutableBytes { o in values.withUnsafeBytes { be.fromRGB(b, o.baseAddress!, alphaFrom: $0.baseAddress!, be) } }
        XCTAssertEqual(back.map { UInt16(bigEndian: $0) }, values)
        XCTAssertEqual(be.rowBytes, 2 * n)
    }

    func testEveryIntegerSampleSurvivesTheRoundTrip() throws {
        for maxval in [1, 255, 1000, 65535] {
            let l = try PixelLayout(width: maxval + 1, height: 1, channels: 1, alpha: -1, sample: .u16, maxval: maxval)
            let row = (0...maxval).map { UInt16($0) }
            var rgb = [Float](repeating: 0, count: 3 * (maxval + 1)), back = [UInt16](repeating: 9, count: maxval + 1)
            row.withUnsafeBytes { l.toRGB($0.baseAddress!, &rgb) }
            XCTAssertEqual(rgb[3 * maxval], 1)
            XCTAssertEqual(rgb[3 * (maxval / 2) + 1], Float(maxval / 2) * (1 / Float(maxval)), "grey is replicated")
            back.withUnsafeMutableBytes { b in row.withUnsafeBytes { l.fromRGB(rgb, b.baseAddress!, alphaFrom: $0.baseAddress!, l) } }
            XCTAssertEqual(back, row, "maxval \(maxval)")
        }
    }

    func testAlphaAnywhereClippingAndNaN() throws {
        // RGBA with alpha first, f32 in, u8 out
        let src = try PixelLayout(width: 2, height: 1, channels: 4, alpha: 0, sample: .f32)
        let dst = try PixelLayout(width: 2, height: 1, channels: 4, alpha: 0, sample: .u8)
        let row: [Float] = [0.5, 1.5, -1, .nan, .nan, 0.25, 0.5, 0.75]
        var rgb = [Float](repeating: 7, count: 6)
        row.withUnsafeBytes { src.toRGB($0.baseAddress!, &rgb) }
        XCTAssertEqual(rgb, [1.5, -1, 0, 0.25, 0.5, 0.75], "alpha skipped, NaN read as 0")
        var out = [UInt8](repeating: 9, count: 8)
        out.withUnsafeMutableBytes { o in row.withUnsafeBytes { dst.fromRGB(rgb, o.baseAddress!, alphaFrom: $0.baseAddress!, src) } }
        XCTAssertEqual(out, [128, 255, 0, 0, 0, 64, 128, 191], "clipped, NaN alpha becomes 0")
        // grey + alpha: grey is the mean of R, G and B
        let ga = try PixelLayout(width: 1, height: 1, channels: 2, alpha: 1, sample: .u8)
        var g = [UInt8](repeating: 0, count: 2)
        let alphaRow: [UInt8] = [0, 77]
        g.withUnsafeMutableBytes { o in alphaRow.withUnsafeBytes { ga.fromRGB([0.2, 0.4, 0.9], o.baseAddress!, alphaFrom: $0.baseAddress!, ga) } }
        XCTAssertEqual(g, [128, 77])
    }

    /// The adapter keeps rows until written: alpha comes from the row read, and at strength 0
    /// rows pass through bit for bit, padding included.
    func testRowAdapterRestoresAlphaAndPassesRowsThrough() throws {
        let l = try PixelLayout(width: 3, height: 4, channels: 2, alpha: 1, sample: .u16, maxval: 4000, stride: 14)
        let image = (0..<(4 * 7)).map { UInt16($0 * 131 % 4001) }
        for passThrough in [true, false] {
            var out = [UInt16](repeating: 0, count: image.count)
            let rows = LayoutRows(input: l, output: l, passThrough: passThrough, read: { first, count, dst in
                image.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress! + first * 14, byteCount: count * 14) }
            }, write: { first, count, src in
                out.withUnsafeMutableBytes { ($0.baseAddress! + first * 14).copyMemory(from: src, byteCount: count * 14) }
            })
            let buf = UnsafeMutablePointer<Float>.allocate(capacity: 4 * 9)
            defer { buf.deallocate() }
            try rows.readRows(3, into: buf)
            try rows.writeRows(2, from: buf)
            try rows.readRows(1, into: buf + 27)
            try rows.writeRows(2, from: buf + 18)
            if passThrough {
                XCTAssertEqual(out, image)
            } else {
                for y in 0..<4 { for x in 0..<3 { XCTAssertEqual(out[y * 7 + 2 * x + 1], image[y * 7 + 2 * x + 1], "alpha at \(x),\(y)") } }
                XCTAssertEqual(out[0], image[0], "grey round trip")
            }
        }
        XCTAssertEqual(LayoutRows.rowOverhead(input: l, output: l), 14 + 14 + 64)
    }
}
