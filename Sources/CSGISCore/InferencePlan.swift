import CDNNL
import Foundation

/// Everything needed to run the network on images of one size: activation buffers in
/// NHWC, oneDNN memory objects over them, and the convolution primitives, created once
/// and reused for every image of that size.
///
/// Buffers: A, T1, T2 (dim channels) carry the trunk; an rHDC block runs A -> T1 -> T2
/// and adds its last conv into A with a fused ReLU + sum post-op. F (dim + 4 channels)
/// holds the concatenation [features, edge, out1] that interpreter2 and refine read;
/// interpreter2's first conv gets zero weights for the out1 channels, so both stages
/// read the same dense buffer.
final class InferencePlan {
    let width: Int, height: Int
    let precision: Precision
    private let config: ModelConfig
    private let ctx: DNNLContext
    private let store: WeightStore
    private let buffers: [String: AlignedBuffer]
    private let inp, f, edge, out1, result: DNNLMemory
    /// The trunk (a) and two scratch buffers (t1, t2); a block's output lands in t1, and
    /// the two then swap names, so no convolution reads the buffer it writes.
    private var a, t1, t2: DNNLMemory
    private let fX, fEdge, fOut1: DNNLMemory
    private var reorders: [String: DNNLPrimitive] = [:]
    private var prims: [ConvKey: DNNLPrimitive] = [:]
    /// Names of the oneDNN implementations chosen, for diagnostics and benchmarks.
    private(set) var implementations: Set<String> = []

    struct ConvKey: Hashable {
        var cin, cout, dilation: Int
        var src, dst: UInt32
        var relu: Bool
        var residual: Int32
    }

    init(width: Int, height: Int, config: ModelConfig, precision: Precision, store: WeightStore, ctx: DNNLContext,
         arena: Arena) throws {
        precondition(arena.capacity >= width * height && arena.dim == config.dim && arena.precision == precision)
        self.width = width
        self.height = height
        self.config = config
        self.precision = precision
        self.store = store
        self.ctx = ctx
        let ab = precision.activationBytes, dim = config.dim
        let dt = precision.activationType
        let b = arena.buffers
        buffers = b
        let h = Int32(height), w = Int32(width), e = ctx.engine
        func nhwc(_ n: String, _ c: Int, _ t: dnnl_data_type_t) throws -> DNNLMemory {
            try DNNLMemory({ csgis_nhwc_memory(e, h, w, Int32(c), t, b[n]!.raw, $0) }, "\(n) memory")
        }
        func slice(_ c: Int, at ch: Int) throws -> DNNLMemory {
            try DNNLMemory({ csgis_nhwc_slice_memory(e, h, w, Int32(c), Int32(dim + 4), dt, b["f"]!.raw + ch * ab, $0) }, "concat slice")
        }
        inp = try nhwc("inp", 3, dt); a = try nhwc("a", dim, dt); t1 = try nhwc("t1", dim, dt); t2 = try nhwc("t2", dim, dt)
        f = try nhwc("f", dim + 4, dt); edge = try nhwc("edge", 1, dnnl_f32); out1 = try nhwc("out1", 3, dnnl_f32)
        result = try nhwc("result", 3, dnnl_f32)
        fX = try slice(dim, at: 0); fEdge = try slice(1, at: dim); fOut1 = try slice(3, at: dim + 1)
        reorders["x"] = try ctx.reorder(a, fX)
        reorders["edge"] = try ctx.reorder(edge, fEdge)
        reorders["out1"] = try ctx.reorder(out1, fOut1)
    }

    /// `residual`: added after the ReLU ("binary add" post-op; must not be `dst`, since
    /// oneDNN's AVX2 kernels keep partial sums in dst). `sum`: dst += result.
    private func conv(_ layer: Int, _ src: DNNLMemory, _ dst: DNNLMemory, relu: Bool = false, sum: Bool = false,
                      residual residualSrc: DNNLMemory? = nil, dst dstType: dnnl_data_type_t? = nil) throws {
        let c = store.convs[layer]
        let srcT = precision.activationType, dstT = dstType ?? precision.activationType
        // Residual adds: the "binary add" post-op after a ReLU (oneDNN 2.6 has no jit kernel
        // for ReLU-then-sum: AVX2 fell back to ref:any, ~50x slower, and AMX dilated convs
        // accept only this form), the "sum" post-op for the final f32 head.
        precondition(residualSrc == nil || (relu && residualSrc !== dst))
        let residual: Int32 = residualSrc != nil ? 2 : sum ? 1 : 0
        let key = ConvKey(cin: c.cin, cout: c.cout, dilation: c.dilation, src: srcT.rawValue, dst: dstT.rawValue, relu: relu, residual: residual)
        let prim: DNNLPrimitive
        if let p = prims[key] { prim = p } else {
            var spec = csgis_conv_spec(h: Int32(height), w: Int32(width), cin: Int32(c.cin), cout: Int32(c.cout), dilation: Int32(c.dilation),
                                       ih: Int32(height), pad_h: Int32(c.dilation),
                                       src_dt: srcT, wei_dt: precision.activationType, dst_dt: dstT, relu: relu ? 1 : 0, sum: residual)
            var pd: dnnl_primitive_desc_t?, p: dnnl_primitive_t?
            try check(csgis_conv_create(ctx.engine, &spec, &pd, &p), "creating a \(c.cin)->\(c.cout) convolution (dilation \(c.dilation)) for \(width)x\(height)")
            prim = DNNLPrimitive(handle: p!, pd: pd!)
            prims[key] = prim
            implementations.insert(String(cString: csgis_primitive_impl_name(pd)))
        }
        let wm = try store.weights(layer, desc: csgis_conv_weights_md(prim.pd)!)
        try check(csgis_conv_execute(prim.handle, ctx.stream, src.handle, wm.handle, store.bias[layer].handle, dst.handle,
                                     residualSrc?.handle), "running convolution \(layer)")
    }

    private func block(_ first: Int) throws {
        try conv(first, a, t1, relu: true)
        try conv(first + 1, t1, t2, relu: true)
        try conv(first + 2, t2, t1, relu: true, residual: a)
        swap(&a, &t1)
    }

    /// How many times `run` asks `shouldStop` (after each block and after the edge head).
    static func stopPolls(_ config: ModelConfig) -> Int { config.numBlock + 1 + 3 + 6 }

    /// Runs the network on `pixels` (RGB, HWC, width x height). `shouldStop` is asked
    /// between layers; returning true abandons the run with `CSGISError.cancelled`.
    func run(_ pixels: UnsafeBufferPointer<Float>, shouldStop: () -> Bool = { false }) throws {
        let n = width * height * 3
        precondition(pixels.count == n)
        let inpRaw = buffers["inp"]!.raw
        if precision == .bf16 {
            let p = inpRaw.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { p[i] = bf16(pixels[i]) }
        } else {
            inpRaw.copyMemory(from: pixels.baseAddress!, byteCount: n * 4)
        }
        let nb = config.numBlock
        var l = 0
        func stop() throws { if shouldStop() { throw CSGISError.cancelled } }
        try conv(l, inp, a); l += 1
        for _ in 0..<nb { try block(l); l += 3; try stop() }
        try conv(l, a, t1, relu: true); try conv(l + 1, t1, t2, relu: true)
        try conv(l + 2, t2, edge, dst: dnnl_f32); l += 3
        try ctx.run(reorder: reorders["x"]!, a, fX)
        try ctx.run(reorder: reorders["edge"]!, edge, fEdge)
        try stop()
        try conv(l, f, a, relu: true); l += 1
        for _ in 0..<3 { try block(l); l += 3; try stop() }
        try conv(l, a, t1, relu: true); try conv(l + 1, t1, out1, dst: dnnl_f32); l += 2
        try ctx.run(reorder: reorders["out1"]!, out1, fOut1)
        buffers["result"]!.raw.copyMemory(from: buffers["out1"]!.raw, byteCount: n * 4)
        try conv(l, f, a, relu: true); l += 1
        for _ in 0..<6 { try block(l); l += 3; try stop() }
        try conv(l, a, result, sum: true, dst: dnnl_f32); l += 1
        assert(l == store.convs.count)
    }

    var resultPointer: UnsafePointer<Float> { UnsafePointer(buffers["result"]!.raw.assumingMemoryBound(to: Float.self)) }
    var out1Pointer: UnsafePointer<Float> { UnsafePointer(buffers["out1"]!.raw.assumingMemoryBound(to: Float.self)) }
    var edgePointer: UnsafePointer<Float> { UnsafePointer(buffers["edge"]!.raw.assumingMemoryBound(to: Float.self)) }
}

/// Activation storage for images of up to `capacity` pixels, shared by the plans of
/// every tile shape (a plan only lays memory descriptors over it).
final class Arena {
    let capacity: Int, dim: Int
    let precision: Precision
    let buffers: [String: AlignedBuffer]

    /// Each buffer and its bytes per pixel: activations in the working precision, the
    /// image heads (edge, out1, result) always in f32. The one list sizes and allocates.
    static func layout(dim: Int, precision: Precision) -> [(name: String, bytesPerPixel: Int)] {
        let ab = precision.activationBytes
        return [("inp", 3 * ab), ("a", dim * ab), ("t1", dim * ab), ("t2", dim * ab), ("f", (dim + 4) * ab),
                ("edge", 4), ("out1", 12), ("result", 12)]
    }

    /// Bytes of activation storage per pixel.
    static func bytesPerPixel(dim: Int, precision: Precision) -> Int {
        layout(dim: dim, precision: precision).reduce(0) { $0 + $1.bytesPerPixel }
    }

    init(capacity: Int, dim: Int, precision: Precision) throws {
        self.capacity = capacity
        self.dim = dim
        self.precision = precision
        var b: [String: AlignedBuffer] = [:]
        for (name, perPixel) in Arena.layout(dim: dim, precision: precision) {
            b[name] = try AlignedBuffer(bytes: capacity * perPixel)
        }
        buffers = b
    }
}

/// float -> bf16 with round-to-nearest-even (NaN kept quiet).
@inline(__always)
func bf16(_ x: Float) -> UInt16 {
    let b = x.bitPattern
    if x.isNaN { return UInt16(b >> 16) | 0x40 }
    return UInt16((b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
}
