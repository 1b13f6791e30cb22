import CDNNL

/// The model's folded weights as oneDNN memory, in each layout a convolution asks for.
/// Reorders happen once per (layer, layout) and are cached; the same store serves every
/// image shape.
final class WeightStore {
    private let ctx: DNNLContext
    private let precision: Precision
    let convs: [FoldedConv]
    private var userWeights: [(AlignedBuffer, DNNLMemory)] = []
    private(set) var bias: [DNNLMemory] = []
    private var biasStorage: [AlignedBuffer] = []
    private var reordered: [[(desc: dnnl_memory_desc_t, mem: DNNLMemory)]]

    init(convs: [FoldedConv], precision: Precision, ctx: DNNLContext) throws {
        self.ctx = ctx
        self.precision = precision
        self.convs = convs
        reordered = Array(repeating: [], count: convs.count)
        for c in convs {
            let wb = try AlignedBuffer(bytes: c.weights.count * 4)
            c.weights.withUnsafeBytes { wb.raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let wm = try DNNLMemory({ csgis_oihw_memory(ctx.engine, Int32(c.cout), Int32(c.cin), dnnl_f32, wb.raw, $0) }, "weights memory")
            userWeights.append((wb, wm))
            let bb = try AlignedBuffer(bytes: c.bias.count * 4)
            c.bias.withUnsafeBytes { bb.raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
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
}
