import CDNNL

/// How the one-pass plan lays out its whole-image activations. NHWC everywhere but fp32 on
/// an AVX2 CPU, where oneDNN 2.6's jit kernels run 1.3-1.5x faster on nChw8c (channels in
/// blocks of 8) and give the same floats as on NHWC (benchmarks/onednn3/run.sh measures the
/// speed; BitIdentityTests and TilingTests compare the plans). The row-streaming plan stays
/// NHWC: its row windows are rows of pixels.
enum ActivationLayout: Hashable {
    case nhwc
    /// nChw8c: element (c, p) of an image of n pixels at ((c / 8) * n + p) * 8 + c % 8;
    /// the channels past the last are zero.
    case blocked8

    /// The layout the one-pass plan uses at `precision` on this CPU for a model `dim`
    /// channels wide (blocks need dim a multiple of 8: oneDNN 2.6 runs a 4-channel blocked
    /// convolution on its reference kernel, slower and not bit-identical).
    static func dense(_ precision: Precision, dim: Int) -> ActivationLayout {
        precision == .fp32 && dim % 8 == 0 && CPUInfo.isaName == "avx2" ? .blocked8 : .nhwc
    }

    /// Every layout the one-pass plan may use at `precision` on some CPU.
    static func possible(_ precision: Precision, dim: Int) -> [ActivationLayout] {
        precision == .fp32 && dim % 8 == 0 ? [.nhwc, .blocked8] : [.nhwc]
    }

    /// oneDNN's name for this layout.
    var tag: dnnl_format_tag_t { self == .blocked8 ? dnnl_nChw8c : dnnl_nhwc }

    /// Channels a node of `c` channels stores per pixel.
    func stored(_ c: Int) -> Int { self == .blocked8 ? (c + 7) / 8 * 8 : c }

    /// Copies channels `from..<from + count` of `src` (`srcChannels` channels, this layout)
    /// into channels `to..<to + count` of `dst` (`dstChannels`), over `pixels` pixels of fp32.
    /// Whole blocks at block offsets are copied block by block.
    func copyChannels(_ count: Int, of src: UnsafePointer<Float>, srcChannels: Int, from: Int = 0,
                      to dst: UnsafeMutablePointer<Float>, dstChannels: Int, at to: Int, pixels n: Int) {
        switch self {
        case .nhwc:
            for p in 0..<n { (dst + p * dstChannels + to).update(from: src + p * srcChannels + from, count: count) }
        case .blocked8:
            var c = 0
            if from % 8 == 0 && to % 8 == 0 {  // whole blocks: contiguous n * 8 floats each
                while c + 8 <= count {
                    (dst + (to + c) / 8 * n * 8).update(from: src + (from + c) / 8 * n * 8, count: n * 8)
                    c += 8
                }
            }
            for k in c..<count {
                let s = src + (from + k) / 8 * n * 8 + (from + k) % 8, d = dst + (to + k) / 8 * n * 8 + (to + k) % 8
                for p in 0..<n { d[p * 8] = s[p * 8] }
            }
        }
    }

    /// Zeroes channels `at..<at + count` of `dst` (`channels` channels).
    func zeroChannels(_ count: Int, of dst: UnsafeMutablePointer<Float>, channels: Int, at: Int, pixels n: Int) {
        for k in at..<at + count {
            switch self {
            case .nhwc: for p in 0..<n { dst[p * channels + k] = 0 }
            case .blocked8: let d = dst + k / 8 * n * 8 + k % 8; for p in 0..<n { d[p * 8] = 0 }
            }
        }
    }
}
