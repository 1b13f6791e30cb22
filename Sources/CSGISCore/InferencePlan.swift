import CDNNL
import Foundation

/// The convolution primitives of one engine, by shape: created once, shared by the layers
/// (and plans) that have the same shape.
final class ConvPrimitives {
    private let store: WeightStore
    private let precision: Precision
    private let ctx: DNNLContext
    private var prims: [Key: DNNLPrimitive] = [:]
    /// Names of the oneDNN implementations chosen, for diagnostics and benchmarks.
    private(set) var implementations: Set<String> = []

    private struct Key: Hashable {
        var cin, cout, dilation, rows, width, inputRows, padH: Int
        var dst: UInt32
        var relu: Bool
        var residual: Int32
    }

    init(store: WeightStore, precision: Precision, ctx: DNNLContext) { self.store = store; self.precision = precision; self.ctx = ctx }

    /// `rows` output rows from `inputRows` input rows, `padH` zero rows implied above and
    /// below; `residual`: 0 none, 1 dst += result ("sum"), 2 + a residual after the ReLU
    /// ("binary add": oneDNN 2.6 has no AVX2 jit kernel for ReLU-then-sum, which fell back
    /// to ref:any, ~50x slower; the residual must not be dst, as AVX2 keeps partial sums there).
    func get(layer: Int, rows: Int, width: Int, inputRows: Int, padH: Int, relu: Bool, residual: Int32,
             dst dstT: dnnl_data_type_t) throws -> DNNLPrimitive {
        let c = store.convs[layer]
        let key = Key(cin: c.cin, cout: c.cout, dilation: c.dilation, rows: rows, width: width, inputRows: inputRows, padH: padH,
                      dst: dstT.rawValue, relu: relu, residual: residual)
        if let p = prims[key] { return p }
        var spec = csgis_conv_spec(h: Int32(rows), w: Int32(width), cin: Int32(c.cin), cout: Int32(c.cout), dilation: Int32(c.dilation),
                                   ih: Int32(inputRows), pad_h: Int32(padH), src_dt: precision.activationType,
                                   wei_dt: precision.activationType, dst_dt: dstT, relu: relu ? 1 : 0, sum: residual)
        var pd: dnnl_primitive_desc_t?, p: dnnl_primitive_t?
        try check(csgis_conv_create(ctx.engine, &spec, &pd, &p),
                  "creating a \(c.cin)->\(c.cout) convolution (dilation \(c.dilation)) for \(width)x\(rows)")
        let prim = DNNLPrimitive(handle: p!, pd: pd!)
        prims[key] = prim
        implementations.insert(String(cString: csgis_primitive_impl_name(pd)))
        return prim
    }
}

/// The whole image in one pass per layer: the network's `Graph` (the one description of its
/// wiring, which `StreamingPlan` runs row block by row block) run op by op over whole-image
/// buffers in NHWC. Buffers are assigned by liveness (`Arena.slots`): a node takes a free
/// buffer when its op runs and returns it after its last reader, so no op writes a buffer
/// it reads. Primitives and memory descriptors are made once per image size and reused.
final class InferencePlan {
    let width: Int, height: Int
    let precision: Precision
    private let ctx: DNNLContext
    private let store: WeightStore
    private let graph: Graph
    private let prims: ConvPrimitives
    /// Per node: its memory over its arena buffer (nil for the input, which is the caller's pixels in fp32).
    private var memory: [DNNLMemory?]
    private let raw: [UnsafeMutableRawPointer?]
    private let inputMemory: DNNLMemory
    var implementations: Set<String> { prims.implementations }

    init(width: Int, height: Int, config: ModelConfig, precision: Precision, store: WeightStore, ctx: DNNLContext,
         prims: ConvPrimitives, arena: Arena) throws {
        precondition(arena.capacity >= width * height && arena.config == config && arena.precision == precision)
        self.width = width; self.height = height; self.precision = precision
        self.store = store; self.ctx = ctx; self.prims = prims
        let g = Graph(config: config, precision: precision)
        graph = g
        let h = Int32(height), w = Int32(width), e = ctx.engine, at = precision.activationType
        let slots = Arena.slots(config: config, precision: precision).ofNode
        raw = slots.map { $0.map { arena.buffers[$0].raw } }
        memory = try g.nodes.indices.map { n in
            guard let p = slots[n].map({ arena.buffers[$0].raw }) else { return nil }
            let t = g.nodes[n].elementBytes == 4 ? dnnl_f32 : at
            return try DNNLMemory({ csgis_nhwc_memory(e, h, w, Int32(g.nodes[n].channels), t, p, $0) }, "activation memory")
        }
        inputMemory = try DNNLMemory({ csgis_nhwc_memory(e, h, w, 3, dnnl_f32, nil, $0) }, "input memory")
    }

    /// How many times `run` asks `shouldStop`: after every convolution.
    static func stopPolls(_ config: ModelConfig) -> Int { config.layers.count }

    /// Runs the network on `pixels` (RGB, HWC, width x height). `shouldStop` is asked
    /// between layers; returning true abandons the run with `CSGISError.cancelled`.
    func run(_ pixels: UnsafeBufferPointer<Float>, shouldStop: () -> Bool = { false }) throws {
        let n = width * height
        precondition(pixels.count == n * 3)
        let input = UnsafeMutableRawPointer(mutating: pixels.baseAddress!)  // read only: the network never writes its input
        try check(dnnl_memory_set_data_handle(inputMemory.handle, input), "pointing at the image")
        func mem(_ node: Int) -> DNNLMemory { node == graph.inputNode ? inputMemory : memory[node]! }
        func ptr(_ node: Int) -> UnsafeMutableRawPointer { node == graph.inputNode ? input : raw[node]! }
        for op in graph.ops {
            switch op.kind {
            case .read, .write: continue  // the input is the caller's pixels; the caller blends the result
            case let .convert(src):
                let s = ptr(src).assumingMemoryBound(to: Float.self), t = ptr(op.dst!).assumingMemoryBound(to: UInt16.self)
                for i in 0..<(n * 3) { t[i] = bf16(s[i]) }
            case let .concat(parts):
                graph.concat(parts, into: op.dst!, pixels: n, at: ptr)
            case let .conv(layer, src, relu, residual, sumOnto):
                let d = op.dst!, c = store.convs[layer]
                if let s = sumOnto { ptr(d).copyMemory(from: ptr(s), byteCount: n * graph.nodes[d].channels * graph.nodes[d].elementBytes) }
                let dstT: dnnl_data_type_t = graph.nodes[d].elementBytes == 4 ? dnnl_f32 : precision.activationType
                let prim = try prims.get(layer: layer, rows: height, width: width, inputRows: height, padH: c.dilation, relu: relu,
                                         residual: residual != nil ? 2 : sumOnto != nil ? 1 : 0, dst: dstT)
                let wm = try store.weights(layer, desc: csgis_conv_weights_md(prim.pd)!)
                try check(csgis_conv_execute(prim.handle, ctx.stream, mem(src).handle, wm.handle, store.bias[layer].handle, mem(d).handle,
                                             residual.map { mem($0).handle }), "running convolution \(layer)")
                if shouldStop() { throw CSGISError.cancelled }
            }
        }
    }

    var resultPointer: UnsafePointer<Float> { UnsafePointer(raw[graph.resultNode]!.assumingMemoryBound(to: Float.self)) }
    var out1Pointer: UnsafePointer<Float> { UnsafePointer(raw[graph.out1Node]!.assumingMemoryBound(to: Float.self)) }
    var edgePointer: UnsafePointer<Float> { UnsafePointer(raw[graph.edgeNode]!.assumingMemoryBound(to: Float.self)) }
}

/// Activation storage for images of up to `capacity` pixels, shared by the plans of
/// every image size (a plan only lays memory descriptors over it).
final class Arena {
    let capacity: Int
    let config: ModelConfig
    let precision: Precision
    let buffers: [AlignedBuffer]

    /// Buffers by liveness over the graph's op order: each node takes a free buffer of its
    /// bytes per pixel when its op runs (a new one if none is free) and frees it after its
    /// last reader. A concat whose first part is a source read for the last time, at the same
    /// place and pixel size, fills that buffer in place. The input is the caller's pixels
    /// (fp32) and is not blended here; the outputs (result, out1, edge) are never freed, so
    /// they can be read after the run.
    /// - Returns: bytes per pixel of each buffer, and each node's buffer.
    static func slots(config: ModelConfig, precision: Precision) -> (bytesPerPixel: [Int], ofNode: [Int?]) {
        slotCache.get(SlotKey(config: config, precision: precision)) {
            let g = Graph(config: config, precision: precision)
            var last = [Int](repeating: -1, count: g.nodes.count)
            for (o, op) in g.ops.enumerated() {
                if case .write = op.kind { continue }
                for s in op.sources { last[s.node] = o }
            }
            let kept = Set([g.resultNode, g.out1Node, g.edgeNode])
            var sizes: [Int] = [], free: [Int] = [], of = [Int?](repeating: nil, count: g.nodes.count)
            for (o, op) in g.ops.enumerated() {
                var inPlace: Int?
                if case let .concat(parts) = op.kind, let s = parts.first?.node, last[s] == o, !kept.contains(s),
                   g.nodes[s].channels == g.nodes[op.dst!].channels, g.nodes[s].elementBytes == g.nodes[op.dst!].elementBytes {
                    inPlace = s
                }
                if let d = op.dst, d != g.inputNode {
                    let bpp = g.nodes[d].channels * g.nodes[d].elementBytes
                    if let s = inPlace { of[d] = of[s] } else if let i = free.firstIndex(where: { sizes[$0] == bpp }) {
                        of[d] = free.remove(at: i)
                    } else { sizes.append(bpp); of[d] = sizes.count - 1 }
                }
                for s in Set(op.sources.map(\.node)) where last[s] == o && !kept.contains(s) && s != inPlace { if let b = of[s] { free.append(b) } }
            }
            return (sizes, of)
        }
    }
    private struct SlotKey: Hashable { var config: ModelConfig, precision: Precision }
    private static let slotCache = Cache<SlotKey, (bytesPerPixel: [Int], ofNode: [Int?])>()

    /// Bytes of activation storage per pixel.
    static func bytesPerPixel(config: ModelConfig, precision: Precision) -> Int {
        slots(config: config, precision: precision).bytesPerPixel.reduce(0, +)
    }

    init(capacity: Int, config: ModelConfig, precision: Precision) throws {
        self.capacity = capacity
        self.config = config
        self.precision = precision
        buffers = try Arena.slots(config: config, precision: precision).bytesPerPixel.map { try AlignedBuffer(bytes: capacity * $0) }
    }
}

/// float -> bf16 with round-to-nearest-even (NaN kept quiet).
@inline(__always)
func bf16(_ x: Float) -> UInt16 {
    let b = x.bitPattern
    if x.isNaN { return UInt16(b >> 16) | 0x40 }
    return UInt16((b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
}
