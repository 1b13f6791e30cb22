import CDNNL
import Foundation

/// Runs the network over an image (or a strip of one) row block by row block, the way
/// libvips runs a pipeline on demand: every layer's output lives in a window of the rows
/// its consumers still need, so memory grows with the width and the network's depth, never
/// with the height, and each activation is computed exactly once.
///
/// Every convolution computes `rowsPerStep` rows per call from `rowsPerStep + 2 x dilation`
/// input rows (zero rows stand for the image's top and bottom padding), so each layer has
/// one primitive shape whatever the image's height. Rows are pulled through the layers by
/// demand: an operation runs only when its consumers' next step needs its rows.
final class StreamingPlan {
    let width: Int, height: Int, rowsPerStep: Int
    let precision: Precision
    private let ctx: DNNLContext
    private let store: WeightStore
    private var graph: Graph
    private let prims: ConvPrimitives
    private var convMemory: [Int: (src: DNNLMemory, dst: DNNLMemory, extra: DNNLMemory?)] = [:]
    var implementations: Set<String> { prims.implementations }
    private let storage: [AlignedBuffer]
    /// The layers that run Winograd (`Winograd.layers`), and their scratch.
    private let winogradLayers: Set<Int>
    private let winograd: WinogradRows?
    /// The layers that run F(2x2, 3x3) (`Winograd2`), on the NHWC row windows.
    private let winograd2Layers: Set<Int>
    /// Bytes of row windows this plan holds.
    var windowBytes: Int { storage.reduce(0) { $0 + $1.bytes } }

    /// Zero rows kept above row 0 (the largest dilation).
    static let topPad = 3

    /// - Parameters: width: columns of the strip; height: its rows.
    init(width: Int, height: Int, rowsPerStep: Int, config: ModelConfig, precision: Precision, store: WeightStore,
         ctx: DNNLContext) throws {
        self.width = width; self.height = height; self.rowsPerStep = rowsPerStep
        self.precision = precision; self.store = store; self.ctx = ctx
        prims = ConvPrimitives(store: store, precision: precision, ctx: ctx)
        var g = Graph(config: config, precision: precision)
        // exactly the span the schedule needs: a window shifts its rows down most steps
        // (about 5% of the CPU time in a profile), but slack would cost up to 2x the memory
        for (i, rows) in g.simulate(height: height, rowsPerStep: rowsPerStep).enumerated() { g.nodes[i].capacity = rows }
        graph = g
        // every row is written before it is read (the zero rows above row 0 at the start of a run)
        storage = try g.nodes.map { try AlignedBuffer(bytes: $0.capacity * width * $0.channels * $0.elementBytes, zeroed: false) }
        winogradLayers = Winograd.layers(config, precision)
        winograd2Layers = Winograd2.layers(config, precision)
        if !winograd2Layers.isEmpty { prims.note(Winograd2.implementation(precision)) }
        // the planner keeps row blocks on Winograd's grid (TileGeometry.choose)
        precondition(winogradLayers.isEmpty || rowsPerStep % Winograd.alignment == 0, "rows per step off the Winograd grid")
        winograd = winogradLayers.isEmpty ? nil
            : try WinogradRows(width: width, rows: rowsPerStep, config: config, precision: precision, ctx: ctx)
    }

    /// What a strip's schedule costs, from one run of it: row-window bytes per column (for
    /// budgeting), and the most rows read but not yet written (what a front end keeps per
    /// row in flight).
    static func schedule(height: Int, rowsPerStep: Int, config: ModelConfig, precision: Precision) -> (bytesPerColumn: Int, lagRows: Int) {
        let g = Graph(config: config, precision: precision)
        let rows = g.simulate(height: height, rowsPerStep: rowsPerStep)
        return (zip(g.nodes, rows).reduce(0) { $0 + $1.1 * $1.0.channels * $1.0.elementBytes }, rows[g.inputNode])
    }

    /// Streams the strip through the network.
    /// - read: fills the next `n` rows (RGB floats, `width * 3` per row), top to bottom.
    /// - write: receives output rows [row, row + n): the result and the input of those rows.
    /// - shouldStop: polled between operations; true abandons the run with `.cancelled`.
    func run(read: (_ n: Int, _ into: UnsafeMutablePointer<Float>) throws -> Void,
             write: (_ row: Int, _ n: Int, _ result: UnsafePointer<Float>, _ input: UnsafePointer<Float>) throws -> Void,
             shouldStop: () -> Bool) throws {
        let R = rowsPerStep
        for i in graph.nodes.indices {
            graph.nodes[i].base = -StreamingPlan.topPad
            graph.nodes[i].hi = 0
            memset(storage[i].raw, 0, StreamingPlan.topPad * rowBytes(i))
        }
        for i in graph.ops.indices { graph.ops[i].next = 0 }
        let writeOp = graph.ops.count - 1
        while graph.ops[writeOp].next < height {
            var ran = false
            for o in graph.ops.indices where graph.isRunnable(o, height: height, rowsPerStep: R) {
                try execute(o, read: read, write: write)
                ran = true
                if shouldStop() { throw CSGISError.cancelled }
            }
            guard ran else { throw CSGISError.backend("the row scheduler stalled (internal error)") }
        }
    }

    private func rowBytes(_ n: Int) -> Int { width * graph.nodes[n].channels * graph.nodes[n].elementBytes }

    /// Address of image row `row` of node `n` (which must be in its window).
    private func rowPointer(_ n: Int, _ row: Int) -> UnsafeMutableRawPointer {
        let r = row - graph.nodes[n].base
        precondition(r >= 0 && r < graph.nodes[n].capacity, "row \(row) outside the window of node \(n)")
        return storage[n].raw + r * rowBytes(n)
    }

    /// Makes room for rows [y, y + R) of node n, dropping rows no consumer still reads.
    private func makeRoom(_ n: Int, upTo end: Int) {
        if end - graph.nodes[n].base <= graph.nodes[n].capacity { return }
        let lo = graph.lowestNeeded(n)
        let keep = graph.nodes[n].hi - lo
        precondition(keep >= 0 && end - lo <= graph.nodes[n].capacity, "window of node \(n) too small")
        if keep > 0 { memmove(storage[n].raw, rowPointer(n, lo), keep * rowBytes(n)) }
        graph.nodes[n].base = lo
    }

    private func execute(_ o: Int, read: (Int, UnsafeMutablePointer<Float>) throws -> Void,
                         write: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>) throws -> Void) throws {
        let R = rowsPerStep, op = graph.ops[o], y = op.next
        let real = max(0, min(R, height - y))  // rows of this step inside the image
        if let d = op.dst {
            makeRoom(d, upTo: y + R)
            let dst = rowPointer(d, y)
            if real > 0 {
                switch op.kind {
                case .read:
                    try read(real, dst.assumingMemoryBound(to: Float.self))
                case let .convert(src):
                    Graph.convert(rowPointer(src, y).assumingMemoryBound(to: Float.self), to: dst, type: graph.nodes[d].type,
                                  step: store.quantization?.step[d] ?? 1, count: real * width * 3)
                case let .concat(parts):
                    try concat(parts, into: d, rows: y..<(y + real))
                case let .conv(layer, src, relu, residual, sumOnto):
                    if let s = sumOnto { dst.copyMemory(from: rowPointer(s, y), byteCount: R * rowBytes(d)) }
                    try conv(o, layer: layer, src: src, dst: d, y: y, relu: relu, residual: residual, sum: sumOnto)
                case .write:
                    preconditionFailure("a write op has no destination")
                }
            }
            if real < R { memset(dst + real * rowBytes(d), 0, (R - real) * rowBytes(d)) }  // the bottom's zero rows
            graph.nodes[d].hi = y + R
        } else if case let .write(result, input) = op.kind, real > 0 {
            try write(y, real, UnsafePointer(rowPointer(result, y).assumingMemoryBound(to: Float.self)),
                      UnsafePointer(rowPointer(input, y).assumingMemoryBound(to: Float.self)))
        }
        graph.ops[o].next = y + R
    }

    /// Packs channel ranges of several nodes into `d`'s rows; nil parts are zero channels.
    private func concat(_ parts: [(node: Int?, channels: Int)], into d: Int, rows: Range<Int>) throws {
        for y in rows { graph.concat(parts, into: d, pixels: width, scales: store.quantization?.step) { rowPointer($0, y) } }
    }

    private func conv(_ o: Int, layer: Int, src: Int, dst: Int, y: Int, relu: Bool, residual: Int?, sum: Int?) throws {
        let c = store.convs[layer], d = c.dilation, R = rowsPerStep
        let srcT = graph.nodes[src].type.dnnl, dstT = graph.nodes[dst].type.dnnl
        if winograd2Layers.contains(layer) {
            let s = Winograd2.strides(.nhwc, channels: c.cin, width: width, rows: 0), t = Winograd2.strides(.nhwc, channels: c.cout, width: width, rows: 0)
            try Winograd2.run(store: store, layer: layer, bf16: graph.nodes[dst].type == .bf16, width: width, rows: y..<(y + R), relu: relu,
                              src: UnsafeRawPointer(rowPointer(src, y - d)), srcRows: (y - d)..<(y + R + d), srcStrides: s,
                              dst: rowPointer(dst, y), dstStrides: t, residual: residual.map { UnsafeRawPointer(rowPointer($0, y)) }, sum: sum != nil)
            return
        }
        if let wino = winograd, winogradLayers.contains(layer) {
            let prim = try prims.get(layer: layer, rows: R, width: width, inputRows: R + 2, padH: 0, relu: relu, residual: sum != nil ? 1 : 0,
                                     src: .f32, dst: .f32, sum: sum.map { graph.nodes[$0].type }, winograd: true)
            let wm = try store.weights(layer, desc: csgis_conv_weights_md(prim.pd)!)
            try wino.run(prim, weights: wm, bias: store.bias[layer], cin: c.cin, cout: c.cout,
                         input: rowPointer(src, y - 1).assumingMemoryBound(to: Float.self), present: 0..<(R + 2),
                         output: rowPointer(dst, y).assumingMemoryBound(to: Float.self), outputRows: R, sum: sum != nil)
            return
        }
        // R rows from R + 2d input rows: the window holds the padding rows itself
        let prim = try prims.get(layer: layer, rows: R, width: width, inputRows: R + 2 * d, padH: 0, relu: relu,
                                 residual: residual != nil ? 2 : sum != nil ? 1 : 0, src: graph.nodes[src].type, dst: graph.nodes[dst].type,
                                 sum: sum.map { graph.nodes[$0].type })
        if convMemory[o] == nil {
            let e = ctx.engine, w = Int32(width)
            let s = try DNNLMemory({ csgis_activation_memory(e, Int32(R + 2 * d), w, Int32(c.cin), srcT, dnnl_nhwc, nil, $0) }, "row block memory")
            let t = try DNNLMemory({ csgis_activation_memory(e, Int32(R), w, Int32(c.cout), dstT, dnnl_nhwc, nil, $0) }, "row block memory")
            let r = try residual.map { _ in try DNNLMemory({ csgis_activation_memory(e, Int32(R), w, Int32(c.cout), dstT, dnnl_nhwc, nil, $0) }, "row block memory") }
            convMemory[o] = (s, t, r)
        }
        let m = convMemory[o]!
        try check(dnnl_memory_set_data_handle(m.src.handle, rowPointer(src, y - d)), "pointing at rows")
        try check(dnnl_memory_set_data_handle(m.dst.handle, rowPointer(dst, y)), "pointing at rows")
        if let r = residual, let rm = m.extra { try check(dnnl_memory_set_data_handle(rm.handle, rowPointer(r, y)), "pointing at rows") }
        let wm = try store.weights(layer, desc: csgis_conv_weights_md(prim.pd)!)
        try check(csgis_conv_execute(prim.handle, ctx.stream, m.src.handle, wm.handle, store.bias[layer].handle, m.dst.handle,
                                     m.extra?.handle), "running convolution \(layer)")
    }
}
