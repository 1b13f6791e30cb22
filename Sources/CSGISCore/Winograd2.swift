import CDNNL
import Foundation

/// Winograd F(2x2, 3x3) (Sources/CDNNL/winograd2.c): fp32 on every CPU with AVX2 and FMA,
/// its products on AVX-512 where the CPU has it (the same floats: each sum is one chain of
/// FMAs in channel order); bf16 on AVX512-BF16 CPUs without AMX (transforms in fp32, the
/// products' inputs rounded to bf16 and summed in fp32: as near fp32 as oneDNN's direct
/// bf16). It runs every 3x3 layer whose channels come in whole blocks of 8, at any
/// dilation, in every layout (NHWC or nChw8c one pass, NHWC row windows) with the same
/// arithmetic, 2.25x fewer multiplies than the direct kernel. An output's floats depend on
/// where its 2x2 tile starts (tiles start at even multiples of the dilation in the plan's
/// coordinates) but on no input outside its 3x3 window, so plans keep their origins on
/// `grid` and need no extra halo; row blocks of any height give the same floats. Where it
/// runs, oneDNN's F(4x4, 3x3) (`Winograd`, AVX-512) does not: on a Xeon (AVX-512) base ran
/// 3.5-3.8 s with F(2x2) on all layers against 3.8 s with the two mixed (benchmarks/README.md).
/// `CSGIS_WINOGRAD2=0` turns it off (back to oneDNN's kernels), `CSGIS_WINOGRAD=0` turns off both.
enum Winograd2 {
    /// Whether the CPU has AVX2 and FMA and neither `CSGIS_WINOGRAD2` nor `CSGIS_WINOGRAD` is `0`.
    static let available: Bool = ProcessInfo.processInfo.environment["CSGIS_WINOGRAD2"] != "0" && Winograd.setting != "0"
        && csgis_wino2_supported() != 0

    /// Whether its bf16 form runs: AVX512-BF16 without AMX (oneDNN's AMX kernels are faster).
    static let bf16Available: Bool = available && csgis_wino2_bf16_supported() != 0 && CPUInfo.hasNativeBF16
        && !CPUInfo.isaName.contains("amx")

    /// Its name among the implementations a plan reports (beside oneDNN's): which products run.
    static func implementation(_ precision: Precision) -> String {
        precision == .bf16 ? "csgis_winograd2:avx512_bf16" : csgis_wino2_avx512() != 0 ? "csgis_winograd2:avx512" : "csgis_winograd2:avx2"
    }

    /// The layers that run F(2x2, 3x3) for `config` at `precision` on this CPU (fp32, or
    /// bf16 where `bf16Available`): input and output channels multiples of 8. (Their
    /// inputs and outputs are all of the precision's activation type: the f32 nodes are
    /// the 1- and 3-channel outputs.)
    static func layers(_ config: ModelConfig, _ precision: Precision) -> Set<Int> {
        guard precision == .fp32 && available || precision == .bf16 && bf16Available else { return [] }
        return cache.get(config) {
            Set(config.layers.indices.filter { config.layers[$0].cin % 8 == 0 && config.layers[$0].cout % 8 == 0 })
        }
    }
    private static let cache = Cache<ModelConfig, Set<Int>>()

    /// Plan origins keep to multiples of this: every 2 x dilation of the layers (12 for
    /// dilations 1, 2 and 3), else 1.
    static func grid(_ config: ModelConfig, _ precision: Precision) -> Int {
        let specs = config.layers
        return layers(config, precision).reduce(1) { lcm($0, 2 * specs[$1].dilation) }
    }

    /// Bytes beyond the plain plan's: the transformed weights (16 per 9 of a layer's) and
    /// each thread's scratch.
    static func bytes(_ config: ModelConfig, _ precision: Precision) -> Int {
        let l = layers(config, precision)
        guard !l.isEmpty else { return 0 }
        let specs = config.layers
        let weights = l.reduce(0) { $0 + 16 * specs[$1].cin * specs[$1].cout * (precision == .bf16 ? 2 : 4) }
        let widest = l.map { csgis_wino2_scratch_bytes(Int32(specs[$0].cin), Int32(specs[$0].cout)) }.max()!
        return weights + max(1, Int(csgis_max_threads())) * widest
    }

    /// Element strides (row, pixel, 8-channel block) of `channels` channels over rows of
    /// `width` pixels, `rows` rows in the buffer, in `layout`.
    static func strides(_ layout: ActivationLayout, channels: Int, width: Int, rows: Int) -> (row: Int, pixel: Int, block: Int) {
        switch layout {
        case .nhwc: return (width * channels, channels, 8)
        case .blocked8: return (width * 8, 8, rows * width * 8)
        }
    }

    /// Output rows [row0, row1) of layer `layer` (plan coordinates), fp32 or (`bf16`) bf16
    /// activations. `src` holds rows [srcRows) of the layer's input (others read as zero),
    /// `dst` starts at row0; `residual` (dst's strides) is added after the ReLU; `sum` adds
    /// dst's contents.
    static func run(store: WeightStore, layer: Int, bf16: Bool, width: Int, rows: Range<Int>, relu: Bool,
                    src: UnsafeRawPointer, srcRows: Range<Int>, srcStrides s: (row: Int, pixel: Int, block: Int),
                    dst: UnsafeMutableRawPointer, dstStrides t: (row: Int, pixel: Int, block: Int),
                    residual: UnsafeRawPointer?, sum: Bool) throws {
        let c = store.convs[layer]
        let u = try store.winograd2Weights(layer)
        try c.bias.withUnsafeBufferPointer { bias in
            var a = csgis_wino2_args(width: Int32(width), cin: Int32(c.cin), cout: Int32(c.cout), dilation: Int32(c.dilation),
                                     row0: Int32(rows.lowerBound), row1: Int32(rows.upperBound),
                                     src: src, src_y0: Int32(srcRows.lowerBound), src_y1: Int32(srcRows.upperBound),
                                     src_rstride: s.row, src_pstride: s.pixel, src_cbstride: s.block,
                                     dst: dst, dst_rstride: t.row, dst_pstride: t.pixel, dst_cbstride: t.block,
                                     residual: residual, u: u, bias: bias.baseAddress, relu: relu ? 1 : 0,
                                     post: residual != nil ? 2 : sum ? 1 : 0, bf16: bf16 ? 1 : 0)
            switch csgis_wino2_run(&a, 0) {
            case 0: return
            case 2: throw CSGISError.outOfMemory("no memory for a Winograd convolution's scratch")
            default: throw CSGISError.backend("the F(2x2, 3x3) convolution refused its arguments (layer \(layer))")
            }
        }
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
private func lcm(_ a: Int, _ b: Int) -> Int { a / gcd(a, b) * b }
