import CDNNL
import Foundation

/// The whole image in one pass per layer: the network's `Graph` (the one description of its
/// wiring, which `StreamingPlan` runs row block by row block) run op by op over whole-image
/// buffers in NHWC. Buffers are assigned by liveness (`Arena.slots`): a node takes a free
/// buffer when its op runs and returns it after its last reader, so no op writes a buffer
/// it reads. Primitives and memory descriptors are made once per image size and reused.
/// In fp32 on AVX2 the activations are nChw8c instead (`ActivationLayout`): the first
/// convolution writes NHWC and is reordered, and the outputs are reordered back to NHWC.
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
    private let layout: ActivationLayout
    /// Blocked layout: the first convolution's NHWC output, and its reorder into the node.
    private var firstConv: (memory: DNNLMemory, reorder: DNNLPrimitive)?
    /// Blocked layout: per output node (result, out1, edge), its NHWC copy and the reorder.
    private var outputs: [Int: (raw: UnsafeMutableRawPointer, memory: DNNLMemory, reorder: DNNLPrimitive)] = [:]
    var implementations: Set<String> { prims.implementations }
    /// The layers that run Winograd (`Winograd.layers`), in blocks of `Winograd.denseRows` rows.
    private let winogradLayers: Set<Int>
    private let winograd: WinogradRows?
    /// The layers that run F(2x2, 3x3) (`Winograd2`), over the whole image per call.
    private let winograd2Layers: Set<Int>

    init(width: Int, height: Int, config: ModelConfig, precision: Precision, store: WeightStore, ctx: DNNLContext,
         prims: ConvPrimitives, arena: Arena) throws {
        precondition(arena.capacity >= width * height && arena.config == config && arena.precision == precision)
        self.width = width; self.height = height; self.precision = precision
        self.store = store; self.ctx = ctx; self.prims = prims
        let g = Graph(config: config, precision: precision)
        graph = g
        let h = Int32(height), w = Int32(width), e = ctx.engine
        let s = Arena.slots(config: config, precision: precision), slots = s.ofNode
        layout = s.layout
        raw = slots.map { $0.map { arena.buffers[$0].raw } }
        let blocked = s.layout == .blocked8
        winogradLayers = Winograd.layers(config, precision)
        winograd2Layers = Winograd2.layers(config, precision)
        if !winograd2Layers.isEmpty { prims.note(Winograd2.implementation(precision)) }
        precondition(winogradLayers.isEmpty || !blocked, "Winograd runs on AVX-512, blocked8 on AVX2 only")
        winograd = winogradLayers.isEmpty ? nil
            : try WinogradRows(width: width, rows: Winograd.denseRows(width: width), config: config, precision: precision, ctx: ctx)
        memory = try g.nodes.indices.map { n in
            guard let p = slots[n].map({ arena.buffers[$0].raw }) else { return nil }
            let c = Int32(g.nodes[n].channels), t = g.nodes[n].type.dnnl
            return try DNNLMemory({ csgis_activation_memory(e, h, w, c, t, s.layout.tag, p, $0) },
                                  "activation memory")
        }
        inputMemory = try DNNLMemory({ csgis_activation_memory(e, h, w, 3, dnnl_f32, dnnl_nhwc, nil, $0) }, "input memory")
        if blocked, let scratch = s.firstConvNHWC,
           let first = g.ops.first(where: { if case let .conv(_, src, _, _, _) = $0.kind { return src == g.inputNode }; return false })?.dst {
            let m = try DNNLMemory({ csgis_activation_memory(e, h, w, Int32(g.nodes[first].channels), dnnl_f32, dnnl_nhwc, arena.buffers[scratch].raw, $0) },
                                   "first convolution's memory")
            firstConv = (m, try ctx.reorder(m, memory[first]!))
        }
        for (n, slot) in zip([g.resultNode, g.out1Node, g.edgeNode], s.nhwcOutputs) {
            let p = arena.buffers[slot].raw
            let m = try DNNLMemory({ csgis_activation_memory(e, h, w, Int32(g.nodes[n].channels), dnnl_f32, dnnl_nhwc, p, $0) }, "output memory")
            outputs[n] = (p, m, try ctx.reorder(memory[n]!, m))
        }
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
                if layout == .blocked8 {
                    concatBlocked(parts, into: op.dst!, pixels: n, at: ptr)
                } else {
                    graph.concat(parts, into: op.dst!, pixels: n, scales: store.quantization?.step, at: ptr)
                }
            case let .conv(layer, src, relu, residual, sumOnto):
                let d = op.dst!, c = store.convs[layer]
                if let s = sumOnto, ptr(s) != ptr(d) {  // else summed in place (Arena.slots)
                    ptr(d).copyMemory(from: ptr(s), byteCount: n * layout.stored(graph.nodes[d].channels) * graph.nodes[d].elementBytes)
                }
                if winograd2Layers.contains(layer) {
                    let f = { (n: Int) in Winograd2.strides(self.layout, channels: self.layout.stored(self.graph.nodes[n].channels), width: self.width, rows: self.height) }
                    try Winograd2.run(store: store, layer: layer, bf16: graph.nodes[d].type == .bf16, width: width, rows: 0..<height, relu: relu,
                                      src: UnsafeRawPointer(ptr(src)), srcRows: 0..<height, srcStrides: f(src),
                                      dst: ptr(d), dstStrides: f(d), residual: residual.map { UnsafeRawPointer(ptr($0)) }, sum: sumOnto != nil)
                    if shouldStop() { throw CSGISError.cancelled }
                    continue
                }
                if let wino = winograd, winogradLayers.contains(layer) {
                    try runWinograd(wino, layer: layer, src: ptr(src), dst: ptr(d), relu: relu, sum: sumOnto.map { graph.nodes[$0].type })
                    if shouldStop() { throw CSGISError.cancelled }
                    continue
                }
                let first = src == graph.inputNode ? firstConv : nil  // blocked: the first conv runs NHWC, then is reordered
                let prim = try prims.get(layer: layer, rows: height, width: width, inputRows: height, padH: c.dilation, relu: relu,
                                         residual: residual != nil ? 2 : sumOnto != nil ? 1 : 0,
                                         src: graph.nodes[src].type, dst: graph.nodes[d].type, sum: sumOnto.map { graph.nodes[$0].type },
                                         layout: first == nil ? layout : .nhwc)
                let wm = try store.weights(layer, desc: csgis_conv_weights_md(prim.pd)!)
                try check(csgis_conv_execute(prim.handle, ctx.stream, mem(src).handle, wm.handle, store.bias[layer].handle,
                                             first?.memory.handle ?? mem(d).handle, residual.map { mem($0).handle }),
                          "running convolution \(layer)")
                if let f = first { try ctx.run(reorder: f.reorder, f.memory, mem(d)) }
                if shouldStop() { throw CSGISError.cancelled }
            }
        }
        for (n, o) in outputs { try ctx.run(reorder: o.reorder, mem(n), o.memory) }
    }

    /// A Winograd layer over the whole image, `wino.rows` rows per call: each call reads its
    /// rows and one above and below (zero rows past the image's edges), as row streaming does.
    private func runWinograd(_ wino: WinogradRows, layer: Int, src: UnsafeMutableRawPointer, dst: UnsafeMutableRawPointer,
                             relu: Bool, sum: Element?) throws {
        let c = store.convs[layer], R = wino.rows
        let prim = try prims.get(layer: layer, rows: R, width: width, inputRows: R + 2, padH: 0, relu: relu, residual: sum != nil ? 1 : 0,
                                 src: .f32, dst: .f32, sum: sum, winograd: true)
        let wm = try store.weights(layer, desc: csgis_conv_weights_md(prim.pd)!)
        let s = src.assumingMemoryBound(to: Float.self), d = dst.assumingMemoryBound(to: Float.self)
        for y in stride(from: 0, to: height, by: R) {
            // input rows y - 1 ..< y + R + 1, those inside the image
            let lo = max(0, y - 1), hi = min(height, y + R + 1)
            try wino.run(prim, weights: wm, bias: store.bias[layer], cin: c.cin, cout: c.cout, input: s + lo * width * c.cin,
                         present: (lo - (y - 1))..<(hi - (y - 1)), output: d + y * width * c.cout, outputRows: min(R, height - y),
                         sum: sum != nil)
        }
    }

    /// A concat op in the blocked layout (fp32 only): the parts' channels copied into place,
    /// the missing part and the block's padding zeroed.
    private func concatBlocked(_ parts: [(node: Int?, channels: Int)], into d: Int, pixels n: Int,
                               at pointer: (Int) -> UnsafeMutableRawPointer) {
        let total = graph.nodes[d].channels, dst = pointer(d).assumingMemoryBound(to: Float.self)
        var ch = 0
        for p in parts {
            defer { ch += p.channels }
            guard let s = p.node else { layout.zeroChannels(p.channels, of: dst, channels: total, at: ch, pixels: n); continue }
            let src = pointer(s).assumingMemoryBound(to: Float.self)
            if src == dst && ch == 0 { continue }  // the in-place fill: these channels are in place already
            layout.copyChannels(p.channels, of: src, srcChannels: graph.nodes[s].channels, to: dst, dstChannels: total, at: ch, pixels: n)
        }
        layout.zeroChannels(layout.stored(total) - total, of: dst, channels: total, at: total, pixels: n)
    }

    /// The outputs after `run`, NHWC.
    var resultPointer: UnsafePointer<Float> { output(graph.resultNode) }
    var out1Pointer: UnsafePointer<Float> { output(graph.out1Node) }
    var edgePointer: UnsafePointer<Float> { output(graph.edgeNode) }
    private func output(_ n: Int) -> UnsafePointer<Float> { UnsafePointer((outputs[n]?.raw ?? raw[n]!).assumingMemoryBound(to: Float.self)) }
}
