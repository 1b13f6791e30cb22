import CDNNL
import Foundation

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
        let h = Int32(height), w = Int32(width), e = ctx.engine
        let slots = Arena.slots(config: config, precision: precision).ofNode
        raw = slots.map { $0.map { arena.buffers[$0].raw } }
        memory = try g.nodes.indices.map { n in
            guard let p = slots[n].map({ arena.buffers[$0].raw }) else { return nil }
            return try DNNLMemory({ csgis_nhwc_memory(e, h, w, Int32(g.nodes[n].channels), g.nodes[n].type.dnnl, p, $0) }, "activation memory")
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
                let d = op.dst!
                Graph.convert(ptr(src).assumingMemoryBound(to: Float.self), to: ptr(d), type: graph.nodes[d].type,
                              step: store.quantization?.step[d] ?? 1, count: n * 3)
            case let .concat(parts):
                graph.concat(parts, into: op.dst!, pixels: n, scales: store.quantization?.step, at: ptr)
            case let .conv(layer, src, relu, residual, sumOnto):
                let d = op.dst!, c = store.convs[layer]
                if let s = sumOnto, ptr(s) != ptr(d) {  // else summed in place (Arena.slots)
                    ptr(d).copyMemory(from: ptr(s), byteCount: n * graph.nodes[d].channels * graph.nodes[d].elementBytes)
                }
                let prim = try prims.get(layer: layer, rows: height, width: width, inputRows: height, padH: c.dilation, relu: relu,
                                         residual: residual != nil ? 2 : sumOnto != nil ? 1 : 0,
                                         src: graph.nodes[src].type, dst: graph.nodes[d].type, sum: sumOnto.map { graph.nodes[$0].type })
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
