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
    private var prims: [InferencePlan.ConvKey: DNNLPrimitive] = [:]
    private var convMemory: [Int: (src: DNNLMemory, dst: DNNLMemory, extra: DNNLMemory?)] = [:]
    private(set) var implementations: Set<String> = []
    private let storage: [AlignedBuffer]
    /// Bytes of row windows this plan holds.
    var windowBytes: Int { storage.reduce(0) { $0 + $1.bytes } }

    /// Zero rows kept above row 0 (the largest dilation).
    static let topPad = 3

    /// - Parameters: width: columns of the strip; height: its rows.
    init(width: Int, height: Int, rowsPerStep: Int, config: ModelConfig, precision: Precision, store: WeightStore,
         ctx: DNNLContext) throws {
        self.width = width; self.height = height; self.rowsPerStep = rowsPerStep
        self.precision = precision; self.store = store; self.ctx = ctx
        var g = Graph(config: config, precision: precision)
        // exactly the span the schedule needs: a window shifts its rows down most steps
        // (about 5% of the CPU time in a profile), but slack would cost up to 2x the memory
        for (i, rows) in g.simulate(height: height, rowsPerStep: rowsPerStep).enumerated() { g.nodes[i].capacity = rows }
        graph = g
        // every row is written before it is read (the zero rows above row 0 at the start of a run)
        storage = try g.nodes.map { try AlignedBuffer(bytes: $0.capacity * width * $0.channels * $0.elementBytes, zeroed: false) }
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
                    let s = rowPointer(src, y).assumingMemoryBound(to: Float.self)
                    let t = dst.assumingMemoryBound(to: UInt16.self)
                    for i in 0..<(real * width * 3) { t[i] = bf16(s[i]) }
                case let .concat(parts):
                    try concat(parts, into: d, rows: y..<(y + real))
                case let .conv(layer, src, relu, residual, sumOnto):
                    if let s = sumOnto { dst.copyMemory(from: rowPointer(s, y), byteCount: R * rowBytes(d)) }
                    try conv(o, layer: layer, src: src, dst: d, y: y, relu: relu, residual: residual, sum: sumOnto != nil)
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
        let total = graph.nodes[d].channels, bf = precision == .bf16
        for y in rows {
            let dst = rowPointer(d, y)
            var ch = 0
            for p in parts {
                defer { ch += p.channels }
                guard let n = p.node else {
                    for x in 0..<width { memset(dst + (x * total + ch) * graph.nodes[d].elementBytes, 0, p.channels * graph.nodes[d].elementBytes) }
                    continue
                }
                let src = rowPointer(n, y), sc = graph.nodes[n].channels
                if graph.nodes[n].elementBytes == graph.nodes[d].elementBytes {
                    let eb = graph.nodes[d].elementBytes
                    for x in 0..<width { (dst + (x * total + ch) * eb).copyMemory(from: src + x * sc * eb, byteCount: sc * eb) }
                } else {  // f32 head into bf16 features
                    precondition(bf)
                    let s = src.assumingMemoryBound(to: Float.self), t = dst.assumingMemoryBound(to: UInt16.self)
                    for x in 0..<width { for c in 0..<sc { t[x * total + ch + c] = bf16(s[x * sc + c]) } }
                }
            }
        }
    }

    private func conv(_ o: Int, layer: Int, src: Int, dst: Int, y: Int, relu: Bool, residual: Int?, sum: Bool) throws {
        let c = store.convs[layer], d = c.dilation, R = rowsPerStep
        let srcT = precision.activationType
        let dstT: dnnl_data_type_t = graph.nodes[dst].elementBytes == 4 ? dnnl_f32 : precision.activationType
        let res: Int32 = residual != nil ? 2 : sum ? 1 : 0
        let key = InferencePlan.ConvKey(cin: c.cin, cout: c.cout, dilation: d, src: srcT.rawValue, dst: dstT.rawValue, relu: relu, residual: res)
        let prim: DNNLPrimitive
        if let p = prims[key] { prim = p } else {
            var spec = csgis_conv_spec(h: Int32(R), w: Int32(width), cin: Int32(c.cin), cout: Int32(c.cout), dilation: Int32(d),
                                       ih: Int32(R + 2 * d), pad_h: 0,
                                       src_dt: srcT, wei_dt: precision.activationType, dst_dt: dstT, relu: relu ? 1 : 0, sum: res)
            var pd: dnnl_primitive_desc_t?, p: dnnl_primitive_t?
            try check(csgis_conv_create(ctx.engine, &spec, &pd, &p),
                      "creating a \(c.cin)->\(c.cout) convolution (dilation \(d)) for rows \(width) wide")
            prim = DNNLPrimitive(handle: p!, pd: pd!)
            prims[key] = prim
            implementations.insert(String(cString: csgis_primitive_impl_name(pd)))
        }
        if convMemory[o] == nil {
            let e = ctx.engine, w = Int32(width)
            let s = try DNNLMemory({ csgis_nhwc_memory(e, Int32(R + 2 * d), w, Int32(c.cin), srcT, nil, $0) }, "row block memory")
            let t = try DNNLMemory({ csgis_nhwc_memory(e, Int32(R), w, Int32(c.cout), dstT, nil, $0) }, "row block memory")
            let r = try residual.map { _ in try DNNLMemory({ csgis_nhwc_memory(e, Int32(R), w, Int32(c.cout), dstT, nil, $0) }, "row block memory") }
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

/// The network as a graph of row windows (nodes) and the operations that fill them, in
/// execution order, with the demand-driven schedule both the plan and its sizing use.
struct Graph {
    struct Node {
        var channels: Int, elementBytes: Int
        var capacity = 0, base = 0, hi = 0
        /// (op, reach): an op reading this node, and how many rows above its next row it reads.
        var consumers: [(op: Int, reach: Int)] = []
    }
    enum Kind {
        case read
        case convert(Int)
        case concat([(node: Int?, channels: Int)])
        case conv(layer: Int, src: Int, relu: Bool, residual: Int?, sumOnto: Int?)
        case write(result: Int, input: Int)
    }
    struct Op {
        var kind: Kind
        var dst: Int?
        /// (node, reach): what the op reads, and how many rows beyond its step on either
        /// side (a conv's dilation for its input, 0 otherwise).
        var sources: [(node: Int, reach: Int)]
        var next = 0
    }
    var nodes: [Node] = []
    var ops: [Op] = []
    /// The f32 input rows (kept until written, for blending).
    private(set) var inputNode = 0

    init(config: ModelConfig, precision: Precision) {
        let ab = precision.activationBytes, dim = config.dim
        let layers = config.layers
        func node(_ c: Int, _ b: Int) -> Int { nodes.append(Node(channels: c, elementBytes: b)); return nodes.count - 1 }
        func add(_ kind: Kind, dst: Int?, sources: [(Int, Int)]) {
            let o = ops.count
            for (n, reach) in sources { nodes[n].consumers.append((o, reach)) }
            ops.append(Op(kind: kind, dst: dst, sources: sources.map { (node: $0.0, reach: $0.1) }))
        }
        var l = 0
        func conv(_ src: Int, relu: Bool, residual: Int? = nil, sumOnto: Int? = nil, f32: Bool = false) -> Int {
            let spec = layers[l]
            let d = node(spec.cout, f32 ? 4 : ab)
            var s = [(src, spec.dilation)]
            if let r = residual { s.append((r, 0)) }
            if let r = sumOnto { s.append((r, 0)) }
            add(.conv(layer: l, src: src, relu: relu, residual: residual, sumOnto: sumOnto), dst: d, sources: s)
            l += 1
            return d
        }
        func block(_ a: Int) -> Int {
            let t1 = conv(a, relu: true), t2 = conv(t1, relu: true)
            return conv(t2, relu: true, residual: a)
        }
        inputNode = node(3, 4)
        add(.read, dst: inputNode, sources: [])
        var inp = inputNode
        if precision == .bf16 {
            inp = node(3, 2)
            add(.convert(inputNode), dst: inp, sources: [(inputNode, 0)])
        }
        var x = conv(inp, relu: false)
        for _ in 0..<config.numBlock { x = block(x) }
        let features = x
        var t = conv(features, relu: true); t = conv(t, relu: true)
        let edge = conv(t, relu: false, f32: true)
        // interpreter2 reads [features, edge, out1] with zero weights for out1 (not yet known)
        let f1 = node(dim + 4, ab)
        add(.concat([(features, dim), (edge, 1), (nil, 3)]), dst: f1, sources: [(features, 0), (edge, 0)])
        x = conv(f1, relu: true)
        for _ in 0..<3 { x = block(x) }
        x = conv(x, relu: true)
        let out1 = conv(x, relu: false, f32: true)
        let f2 = node(dim + 4, ab)
        add(.concat([(features, dim), (edge, 1), (out1, 3)]), dst: f2, sources: [(features, 0), (edge, 0), (out1, 0)])
        x = conv(f2, relu: true)
        for _ in 0..<6 { x = block(x) }
        let result = conv(x, relu: false, sumOnto: out1, f32: true)
        precondition(l == layers.count)
        add(.write(result: result, input: inputNode), dst: nil, sources: [(result, 0), (inputNode, 0)])
    }

    /// The first row of node n that some consumer still reads.
    func lowestNeeded(_ n: Int) -> Int {
        nodes[n].consumers.reduce(nodes[n].hi) { min($0, ops[$1.op].next - $1.reach) }
    }

    /// True when op o's next step is wanted by a consumer and its inputs are present.
    func isRunnable(_ o: Int, height: Int, rowsPerStep R: Int) -> Bool {
        let op = ops[o], y = op.next
        if let d = op.dst {
            // wanted: an unfinished consumer's next step reads rows at or beyond y
            guard nodes[d].consumers.contains(where: { ops[$0.op].next < height && y < ops[$0.op].next + R + $0.reach }) else { return false }
        } else if y >= height { return false }
        if y >= height { return true }  // zero rows below the image read nothing
        return op.sources.allSatisfy { nodes[$0.node].hi >= y + R + $0.reach }
    }

    /// Runs the schedule without computing; returns each node's window rows (its capacity).
    func simulate(height: Int, rowsPerStep R: Int) -> [Int] {
        var g = self
        var cap = [Int](repeating: StreamingPlan.topPad, count: nodes.count)
        for i in g.nodes.indices { g.nodes[i].base = -StreamingPlan.topPad; g.nodes[i].hi = 0 }
        let last = g.ops.count - 1
        while g.ops[last].next < height {
            var ran = false
            for o in g.ops.indices where g.isRunnable(o, height: height, rowsPerStep: R) {
                let y = g.ops[o].next
                if let d = g.ops[o].dst {
                    let lo = g.lowestNeeded(d)
                    cap[d] = max(cap[d], y + R - lo)
                    g.nodes[d].hi = y + R
                }
                g.ops[o].next = y + R
                ran = true
            }
            if !ran {
                let state = g.ops.indices.map { o in "op\(o) next \(g.ops[o].next) dst \(g.ops[o].dst.map { "n\($0) hi \(g.nodes[$0].hi)" } ?? "-") src \(g.ops[o].sources.map { "n\($0.node)+\($0.reach)" })" }
                preconditionFailure("row schedule stalls: " + state.joined(separator: "; "))
            }
        }
        return cap
    }
}
