import CDNNL
import Foundation

/// Winograd F(4x4, 3x3) on the dilation-1 convolutions: fp32 on AVX-512 only (oneDNN 2.6
/// has no AVX2, bf16 or int8 kernel), 1.7-2.5x the direct kernel's speed per such layer
/// (benchmarks/README.md). Its floats depend on where a 4x4 output tile starts, so every
/// plan keeps the whole image's tile grid: row blocks and tile or strip origins on multiples
/// of `alignment`, and halos grown by `extraHaloPerLayer` per Winograd layer (an output at a
/// tile's edge sees the other inputs of its 6x6 window). With that, tiles, strips and row
/// streaming give the whole image's floats, as with the direct kernel.
enum Winograd {
    /// Output tile size: row blocks and column origins are multiples of it.
    static let alignment = 4
    /// Pixels of halo a Winograd layer adds beyond its receptive radius of 1.
    static let extraHaloPerLayer = 3
    /// Narrower layers do not gain: at 32 channels the kernel's 1.7x went to the reorders
    /// around it (lite fp32 0.98x at 512x512, Zen 4), and the 3-channel first layer runs
    /// slower on it.
    static let minInputChannels = 64
    /// Rows per call when a one-pass plan runs a Winograd layer over `width` columns: up to
    /// 64 (faster than 16 on lite at 512 wide), fewer on wide images so the nChw16c scratch
    /// stays near 16 MB, at least 8.
    static func denseRows(width: Int) -> Int {
        let rows = (16 << 20) / max(1, width * (64 + 64) * 4)
        return min(64, max(8, rows / alignment * alignment))
    }

    /// `CSGIS_WINOGRAD`: `0` turns Winograd off, `1` or unset leaves it on where the CPU has it.
    static var setting: String? { ProcessInfo.processInfo.environment["CSGIS_WINOGRAD"] }

    /// Refuses a `CSGIS_WINOGRAD` or `CSGIS_WINOGRAD2` other than 0 or 1 (every engine checks it when made).
    static func checkSetting() throws {
        if let v = setting, v != "0", v != "1", !v.isEmpty {
            throw CSGISError.invalidArgument("CSGIS_WINOGRAD is '\(v)'; use 0 (off) or 1 (on where the CPU has it)")
        }
        if let v = ProcessInfo.processInfo.environment["CSGIS_WINOGRAD2"], v != "0", v != "1", !v.isEmpty {
            throw CSGISError.invalidArgument("CSGIS_WINOGRAD2 is '\(v)'; use 1 (F(2x2, 3x3), the default) or 0 (off)")
        }
        if let v = ProcessInfo.processInfo.environment["CSGIS_WINO2_ISA"], v != "avx2", !v.isEmpty {
            throw CSGISError.invalidArgument("CSGIS_WINO2_ISA is '\(v)'; use avx2 (AVX2 products where the CPU has AVX-512) or leave it unset")
        }
    }

    /// Whether this CPU runs the pinned kernel (probed once) and `CSGIS_WINOGRAD` is not `0`.
    static let available: Bool = {
        if setting == "0" { return false }
        guard let ctx = try? DNNLContext() else { return false }
        var spec = csgis_conv_spec(h: 8, w: 8, cin: 16, cout: 16, dilation: 1, ih: 10, pad_h: 0, src_dt: dnnl_f32, wei_dt: dnnl_f32,
                                   dst_dt: dnnl_f32, relu: 1, sum: 0, sum_scale: 1, sum_dt: dnnl_data_type_undef, scales: nil,
                                   n_scales: 0, block: 16, winograd: 1)
        var pd: dnnl_primitive_desc_t?, p: dnnl_primitive_t?
        guard csgis_conv_create(ctx.engine, &spec, &pd, &p) == dnnl_success, let p else { return false }
        _ = DNNLPrimitive(handle: p, pd: pd)  // frees both
        return true
    }()

    /// The layers that run Winograd for `config` at `precision` on this CPU: dilation 1, at
    /// least `minInputChannels` input channels and no binary-add residual (the kernel has no
    /// such post-op). Empty where it is not available.
    static func layers(_ config: ModelConfig, _ precision: Precision) -> Set<Int> {
        guard precision == .fp32, available, !Winograd2.available else { return [] }  // F(2x2, 3x3) supersedes it
        return cache.get(config) {
            var s = Set<Int>()
            let specs = config.layers
            for op in Graph(config: config, precision: .fp32).ops {
                if case let .conv(l, _, _, residual, _) = op.kind, residual == nil, specs[l].dilation == 1, specs[l].cin >= minInputChannels { s.insert(l) }
            }
            return s
        }
    }
    private static let cache = Cache<ModelConfig, Set<Int>>()

    /// The grid tile and strip origins, tile sizes and halos keep: `alignment` when any layer
    /// runs this kernel, `Winograd2.grid` when F(2x2, 3x3) runs (where it runs this kernel does not), else 1.
    static func grid(_ config: ModelConfig, _ precision: Precision) -> Int {
        layers(config, precision).isEmpty ? Winograd2.grid(config, precision) : alignment
    }

    /// What rows per step round up to: `alignment` when a layer runs this kernel (its 4x4
    /// tiles start on row blocks), else 1 (F(2x2, 3x3) takes row blocks of any height).
    static func rowAlignment(_ config: ModelConfig, _ precision: Precision) -> Int { layers(config, precision).isEmpty ? 1 : alignment }

    /// Context pixels around a tile that make it exact: the receptive radius, plus the
    /// Winograd layers' spread, rounded up to the grid.
    static func halo(_ config: ModelConfig, _ precision: Precision) -> Int {
        let n = layers(config, precision).count, g = grid(config, precision)
        return (config.receptiveRadius + extraHaloPerLayer * n + g - 1) / g * g
    }

    /// Bytes of the nChw16c scratch a plan running `rows` rows per call over `width` columns holds.
    static func scratchBytes(_ config: ModelConfig, _ precision: Precision, rows: Int, width: Int) -> Int {
        let l = layers(config, precision)
        guard !l.isEmpty else { return 0 }
        let specs = config.layers
        let cin = l.map { specs[$0].cin }.max()!, cout = l.map { specs[$0].cout }.max()!
        return ((rows + 2) * blocked(cin) + rows * blocked(cout)) * width * 4
    }

    static func blocked(_ c: Int) -> Int { (c + 15) / 16 * 16 }
}

/// Runs a plan's Winograd layers over NHWC rows: each call reorders its input rows into an
/// nChw16c scratch (zero rows where the image has none), runs the pinned kernel on it and
/// reorders the output rows back (oneDNN's reorders, on all threads).
final class WinogradRows {
    let width: Int, rows: Int
    private let ctx: DNNLContext
    private let src: AlignedBuffer, dst: AlignedBuffer
    /// Scratch memories by (channels, in or out) and reorders by their rows, made once.
    private var scratch: [Int: (src: DNNLMemory, dst: DNNLMemory)] = [:]
    private var reorders: [ReorderKey: (nhwc: DNNLMemory, blocked: DNNLMemory, primitive: DNNLPrimitive)] = [:]
    private struct ReorderKey: Hashable { var channels, rows, row0: Int, source, toBlocked: Bool }

    /// For calls of `rows` output rows over `width` columns, sized for the model's widest Winograd layer.
    init(width: Int, rows: Int, config: ModelConfig, precision: Precision, ctx: DNNLContext) throws {
        self.width = width; self.rows = rows; self.ctx = ctx
        let l = Winograd.layers(config, precision), specs = config.layers
        let cin = l.map { specs[$0].cin }.max() ?? 16, cout = l.map { specs[$0].cout }.max() ?? 16
        src = try AlignedBuffer(bytes: (rows + 2) * Winograd.blocked(cin) * width * 4)
        dst = try AlignedBuffer(bytes: rows * Winograd.blocked(cout) * width * 4)
    }

    /// Copies `n` NHWC rows at `nhwc` to rows [row0, row0 + n) of the source (or
    /// destination) scratch, or back.
    private func reorder(_ nhwc: UnsafeMutablePointer<Float>, channels c: Int, rows n: Int, row0: Int, source: Bool,
                         toBlocked: Bool) throws {
        let key = ReorderKey(channels: c, rows: n, row0: row0, source: source, toBlocked: toBlocked)
        if reorders[key] == nil {
            let e = ctx.engine, w = Int32(width), total = Int32(source ? rows + 2 : rows), buf = source ? src.raw : dst.raw
            let a = try DNNLMemory({ csgis_activation_memory(e, Int32(n), w, Int32(c), dnnl_f32, dnnl_nhwc, nil, $0) }, "rows memory")
            let b = try DNNLMemory({ csgis_blocked16_rows_memory(e, total, Int32(row0), Int32(n), w, Int32(c), buf, $0) }, "Winograd scratch")
            reorders[key] = (a, b, toBlocked ? try ctx.reorder(a, b) : try ctx.reorder(b, a))
        }
        let r = reorders[key]!
        try check(dnnl_memory_set_data_handle(r.nhwc.handle, nhwc), "pointing at rows")
        if toBlocked { try ctx.run(reorder: r.primitive, r.nhwc, r.blocked) } else { try ctx.run(reorder: r.primitive, r.blocked, r.nhwc) }
    }

    /// Computes output rows [y, y + rows) of a layer (the primitive from
    /// `ConvPrimitives.get(..., rows: rows, inputRows: rows + 2, padH: 0, winograd: true)`).
    /// - input: NHWC rows [y - 1 + present.lowerBound, y - 1 + present.upperBound) of the
    ///   layer's source, `cin` channels; the call's other input rows (of 0..<rows + 2) are zero.
    /// - output: NHWC rows of `cout` channels; the first `outputRows` are written back (and,
    ///   with `sum`, read first: the kernel adds its result to them).
    func run(_ prim: DNNLPrimitive, weights: DNNLMemory, bias: DNNLMemory, cin: Int, cout: Int,
             input: UnsafePointer<Float>, present: Range<Int>, output: UnsafeMutablePointer<Float>, outputRows: Int,
             sum: Bool) throws {
        let inRows = rows + 2, w = Int32(width)
        precondition(!present.isEmpty && present.lowerBound >= 0 && present.upperBound <= inRows && outputRows <= rows)
        let key = cin << 16 | cout
        if scratch[key] == nil {
            let e = ctx.engine, s = src.raw, d = dst.raw
            scratch[key] = (try DNNLMemory({ csgis_activation_memory(e, Int32(inRows), w, Int32(cin), dnnl_f32, dnnl_nChw16c, s, $0) }, "Winograd scratch"),
                            try DNNLMemory({ csgis_activation_memory(e, Int32(self.rows), w, Int32(cout), dnnl_f32, dnnl_nChw16c, d, $0) }, "Winograd scratch"))
        }
        let m = scratch[key]!
        let s = src.raw.assumingMemoryBound(to: Float.self), d = dst.raw.assumingMemoryBound(to: Float.self)
        let c = Int32(cin), r = Int32(inRows)
        if present.lowerBound > 0 { csgis_blocked16_zero_rows(s, r, 0, Int32(present.lowerBound), w, c) }
        try reorder(UnsafeMutablePointer(mutating: input), channels: cin, rows: present.count, row0: present.lowerBound, source: true, toBlocked: true)
        if present.upperBound < inRows { csgis_blocked16_zero_rows(s, r, Int32(present.upperBound), Int32(inRows - present.upperBound), w, c) }
        if sum {
            if outputRows < rows { csgis_blocked16_zero_rows(d, Int32(rows), Int32(outputRows), Int32(rows - outputRows), w, Int32(cout)) }
            try reorder(output, channels: cout, rows: outputRows, row0: 0, source: false, toBlocked: true)  // the kernel adds onto dst
        }
        try check(csgis_conv_execute(prim.handle, ctx.stream, m.src.handle, weights.handle, bias.handle, m.dst.handle, nil),
                  "running a Winograd convolution")
        try reorder(output, channels: cout, rows: outputRows, row0: 0, source: false, toBlocked: false)
    }
}
