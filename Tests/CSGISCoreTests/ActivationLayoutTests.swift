@testable import CSGISCore
import XCTest

/// The one-pass plan's activation layouts: which one this CPU gets, and the channel copies
/// its concatenations make, against a plain reading of each layout. (That the blocked plan
/// computes the same floats as the NHWC one is TilingTests' and StreamingTests' dense
/// against row-streamed comparison, on every CPU where fp32 runs blocked, and under
/// scripts/test.sh's DNNL_MAX_CPU_ISA=AVX2 pass on the others.)
final class ActivationLayoutTests: XCTestCase {
    func testTheDenseLayoutFollowsTheCPU() {
        let fp32 = ActivationLayout.dense(.fp32, dim: 32)
        print("one-pass layout here: fp32 \(fp32), bf16 \(ActivationLayout.dense(.bf16, dim: 32)), int8 \(ActivationLayout.dense(.int8, dim: 32)) (oneDNN ISA \(CPUInfo.isaName))")
        XCTAssertEqual(fp32, CPUInfo.isaName == "avx2" ? .blocked8 : .nhwc)
        XCTAssertEqual(ActivationLayout.dense(.fp32, dim: 4), .nhwc, "a model narrower than a block stays NHWC")
        XCTAssertEqual(ActivationLayout.dense(.bf16, dim: 64), .nhwc)
        XCTAssertEqual(ActivationLayout.dense(.int8, dim: 64), .nhwc)
        XCTAssertEqual(ActivationLayout.blocked8.stored(68), 72)
        XCTAssertEqual(ActivationLayout.blocked8.stored(64), 64)
        XCTAssertEqual(ActivationLayout.blocked8.stored(1), 8)
        XCTAssertEqual(ActivationLayout.nhwc.stored(68), 68)
    }

    /// Index of channel c of pixel p in an image of n pixels with `channels` channels.
    private func index(_ layout: ActivationLayout, _ c: Int, _ p: Int, channels: Int, pixels n: Int) -> Int {
        layout == .nhwc ? p * channels + c : (c / 8 * n + p) * 8 + c % 8
    }

    func testChannelCopiesAndZeroesMatchTheLayoutsDefinition() {
        let n = 13
        // (count, source channels, from, destination channels, to): whole blocks, tails, unaligned
        let cases = [(64, 64, 0, 68, 0), (1, 1, 0, 68, 64), (3, 3, 0, 68, 65), (65, 68, 0, 68, 0), (5, 12, 3, 20, 9), (16, 16, 0, 24, 8)]
        for layout in [ActivationLayout.nhwc, .blocked8] {
            for (count, sc, from, dc, to) in cases {
                var src = [Float](repeating: 0, count: layout.stored(sc) * n)
                for c in 0..<sc { for p in 0..<n { src[index(layout, c, p, channels: sc, pixels: n)] = Float(1000 * c + p + 1) } }
                var dst = [Float](repeating: -1, count: layout.stored(dc) * n)
                src.withUnsafeBufferPointer { s in dst.withUnsafeMutableBufferPointer { d in
                    layout.copyChannels(count, of: s.baseAddress!, srcChannels: sc, from: from, to: d.baseAddress!, dstChannels: dc, at: to, pixels: n)
                } }
                for c in 0..<dc { for p in 0..<n {
                    let want: Float = (to..<to + count).contains(c) ? Float(1000 * (c - to + from) + p + 1) : -1
                    XCTAssertEqual(dst[index(layout, c, p, channels: dc, pixels: n)], want, "\(layout) copy \((count, sc, from, dc, to)): channel \(c) pixel \(p)")
                } }
                dst.withUnsafeMutableBufferPointer { layout.zeroChannels(2, of: $0.baseAddress!, channels: dc, at: to, pixels: n) }
                for p in 0..<n {
                    XCTAssertEqual(dst[index(layout, to, p, channels: dc, pixels: n)], 0)
                    if to + 1 < dc { XCTAssertEqual(dst[index(layout, to + 1, p, channels: dc, pixels: n)], 0) }
                }
            }
        }
    }
}
