import CDNNL

/// The model's folded weights as oneDNN memory, in each layout a convolution asks for.
/// Reorders happen once per (layer, layout) and are cached; the same store serves every
/// image shape.
final class WeightStore {
    private let ctx: DNNLContext
    private let precision: Precision
    let convs: [FoldedConv]
    /// The int8 form (steps, s8 weights, scales) when the precision is int8.
    let quantization: Quantization?
    private var userWeights: [(AlignedBuffer, DNNLMemory)] = []
    private(set) var bias: [DNNLMemory] = []
    private var biasStorage: [AlignedBuffer] = []
    private var reordered: [[(desc: dnnl_memory_desc_t, mem: DNNLMemory)]]
    /// Per layer, its F(2x2, 3x3) weights once asked for (`Winograd2`).
    private var winograd2: [Int: AlignedBuffer] = [:]

    init(convs: [FoldedConv], precision: Precision, quantization: Quantization?, ctx: DNNLContext) throws {
        self.ctx = ctx
        self.precision = precision
        self.convs = convs
        self.quantization = quantization
        reordered = Array(repeating: [], count: convs.count)
        for (l, c) in convs.enumerated() {
            let q = quantization?.layers[l]
            let wb = try AlignedBuffer(bytes: c.weights.count * (q == nil ? 4 : 1))
            if let q { q.weights.withUnsafeBytes { wb.raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } } else {
                c.weights.withUnsafeBytes { wb.raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
            let wm = try DNNLMemory({ csgis_oihw_memory(ctx.engine, Int32(c.cout), Int32(c.cin), q == nil ? dnnl_f32 : dnnl_s8, wb.raw, $0) },
                                    "weights memory")
            userWeights.append((wb, wm))
            let b = q?.bias ?? c.bias
            let bb = try AlignedBuffer(bytes: b.count * 4)
            b.withUnsafeBytes { bb.raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            biasStorage.append(bb)
            bias.append(try DNNLMemory({ csgis_vector_memory(ctx.engine, Int32(c.cout), dnnl_f32, bb.raw, $0) }, "bias memory"))
        }
    }

    /// Weights of layer `i` in the layout (and type) described by `desc`.
    func weights(_ i: Int, desc: UnsafePointer<dnnl_memory_desc_t>) throws -> DNNLMemory {
        for entry in reordered[i] {
            var d = entry.desc
            if dnnl_memory_desc_equal(&d, desc) != 0 { return entry.mem }
        }
        let mem = try DNNLMemory({ csgis_owned_memory(ctx.engine, desc, $0) }, "weights in the convolution's layout")
        let r = try ctx.reorder(userWeights[i].1, mem)
        try ctx.run(reorder: r, userWeights[i].1, mem)
        reordered[i].append((desc.pointee, mem))
        return mem
    }

    /// Layer `i`'s weights transformed for `Winograd2` (16 x cin x cout floats, or at bf16
    /// their bf16 pairs), made once.
    func winograd2Weights(_ i: Int) throws -> UnsafeRawPointer {
        if let b = winograd2[i] { return UnsafeRawPointer(b.raw) }
        let c = convs[i]
        let b = try AlignedBuffer(bytes: 16 * c.cin * c.cout * 4, zeroed: false)
        c.weights.withUnsafeBufferPointer { csgis_wino2_transform_weights($0.baseAddress, Int32(c.cin), Int32(c.cout), b.raw.assumingMemoryBound(to: Float.self)) }
        if precision == .bf16 {
            let h = try AlignedBuffer(bytes: 16 * c.cin * c.cout * 2, zeroed: false)
            csgis_wino2_pack_bf16(b.raw.assumingMemoryBound(to: Float.self), Int32(c.cin), Int32(c.cout), h.raw.assumingMemoryBound(to: UInt16.self))
            winograd2[i] = h
        } else {
            winograd2[i] = b
        }
        return UnsafeRawPointer(winograd2[i]!.raw)
    }
}
