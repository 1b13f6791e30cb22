import Foundation

/// The network as a graph of row windows (nodes) and the operations that fill them, in
/// execution order, with the demand-driven schedule both the plan and its sizing use.
struct Graph {
    struct Node {
        var channels: Int, type: Element
        var elementBytes: Int { type.bytes }
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
    /// The network's f32 outputs: the smoothed image (out1 + out2), out1 and the edge logits.
    private(set) var resultNode = 0, out1Node = 0, edgeNode = 0

    init(config: ModelConfig, precision: Precision) {
        let at = precision.activation, dim = config.dim
        let layers = config.layers
        func node(_ c: Int, _ t: Element) -> Int { nodes.append(Node(channels: c, type: t)); return nodes.count - 1 }
        func add(_ kind: Kind, dst: Int?, sources: [(Int, Int)]) {
            let o = ops.count
            for (n, reach) in sources { nodes[n].consumers.append((o, reach)) }
            ops.append(Op(kind: kind, dst: dst, sources: sources.map { (node: $0.0, reach: $0.1) }))
        }
        var l = 0
        func conv(_ src: Int, relu: Bool, residual: Int? = nil, sumOnto: Int? = nil, f32: Bool = false) -> Int {
            let spec = layers[l]
            // int8: a ReLU's output is unsigned (one more bit, and oneDNN's faster u8-input
            // kernels downstream), and stays so after a skip sum of an unsigned tensor
            let unsigned = relu && residual == nil && (sumOnto.map { nodes[$0].type == .u8 } ?? true)
            let d = node(spec.cout, f32 ? .f32 : at == .s8 && unsigned ? .u8 : at)
            var s = [(src, spec.dilation)]
            if let r = residual { s.append((r, 0)) }
            if let r = sumOnto { s.append((r, 0)) }
            add(.conv(layer: l, src: src, relu: relu, residual: residual, sumOnto: sumOnto), dst: d, sources: s)
            l += 1
            return d
        }
        // The skip: int8 needs a scaled "sum" onto `a` (summed in place, `a` being read for
        // the last time); fp32 and bf16 use a binary add, as AVX2's jit kernels have no
        // ReLU-then-sum (ref, ~50x slower). (On AVX-512 a sum would keep fp32 on brgconv,
        // 21% faster per such convolution than the jit kernel a binary add gets, but rows
        // of one then differed from the whole image by an ulp on a 4-channel model.)
        let skipAsSum = at == .s8
        func block(_ a: Int) -> Int {
            let t1 = conv(a, relu: true), t2 = conv(t1, relu: true)
            return skipAsSum ? conv(t2, relu: true, sumOnto: a) : conv(t2, relu: true, residual: a)
        }
        inputNode = node(3, .f32)
        add(.read, dst: inputNode, sources: [])
        var inp = inputNode
        if at != .f32 {
            inp = node(3, at == .s8 ? .u8 : at)
            add(.convert(inputNode), dst: inp, sources: [(inputNode, 0)])
        }
        var x = conv(inp, relu: false)
        for _ in 0..<config.numBlock { x = block(x) }
        let features = x
        var t = conv(features, relu: true); t = conv(t, relu: true)
        let edge = conv(t, relu: false, f32: true)
        // interpreter2 reads [features, edge, out1] with zero weights for out1 (not yet known)
        let f1 = node(dim + 4, at)
        add(.concat([(features, dim), (edge, 1), (nil, 3)]), dst: f1, sources: [(features, 0), (edge, 0)])
        x = conv(f1, relu: true)
        for _ in 0..<ModelConfig.interpreterBlocks { x = block(x) }
        x = conv(x, relu: true)
        let out1 = conv(x, relu: false, f32: true)
        // refine reads [features, edge, out1]: f1's first dim + 1 channels with out1 filled in
        // (so the one-pass plan fills f1 in place instead of keeping features for it)
        let f2 = node(dim + 4, at)
        add(.concat([(f1, dim + 1), (out1, 3)]), dst: f2, sources: [(f1, 0), (out1, 0)])
        x = conv(f2, relu: true)
        for _ in 0..<ModelConfig.refineBlocks { x = block(x) }
        let result = conv(x, relu: false, sumOnto: out1, f32: true)
        precondition(l == layers.count)  // the wiring used every layer `ModelConfig.layers` names, in order
        resultNode = result; out1Node = out1; edgeNode = edge
        add(.write(result: result, input: inputNode), dst: nil, sources: [(result, 0), (inputNode, 0)])
    }

    /// The model's folded convolutions as this wiring runs them: interpreter2's first conv
    /// reads all of f1 = [features, edge, out1], so its weights get zero columns for out1
    /// (not yet known when it runs).
    static func convs(of model: CSGISModel) -> [FoldedConv] {
        var convs = model.convs
        let i2 = model.config.layers.firstIndex { $0.conv == "interpreter2.0" }!
        let c = convs[i2], width = model.config.dim + 4
        var w = [Float](repeating: 0, count: c.cout * width * 9)
        for o in 0..<c.cout { for i in 0..<c.cin { for k in 0..<9 { w[(o * width + i) * 9 + k] = c.weights[(o * c.cin + i) * 9 + k] } } }
        convs[i2] = FoldedConv(cin: width, cout: c.cout, dilation: 1, weights: w, bias: c.bias)
        return convs
    }

    /// Runs a concat op over `pixels` pixels: `parts` of this graph's nodes packed into node
    /// `d`, each node's pixels at `pointer(node)` (a whole image, or one row of it).
    /// `scales`: per node, the int8 quantisation step (int8 graphs only).
    func concat(_ parts: [(node: Int?, channels: Int)], into d: Int, pixels: Int, scales: [Float]?,
                at pointer: (Int) -> UnsafeMutableRawPointer) {
        let dt = nodes[d].type, eb = dt.bytes, total = nodes[d].channels
        let dst = pointer(d)
        var ch = 0
        for p in parts {
            defer { ch += p.channels }
            guard let n = p.node else {
                for x in 0..<pixels { memset(dst + (x * total + ch) * eb, 0, p.channels * eb) }
                continue
            }
            let src = UnsafeRawPointer(pointer(n)), sc = p.channels, ss = nodes[n].channels
            if src == UnsafeRawPointer(dst + ch * eb) && ss == total { continue }  // the one-pass plan's in-place fill
            if nodes[n].type == dt {
                for x in 0..<pixels { (dst + (x * total + ch) * eb).copyMemory(from: src + x * ss * eb, byteCount: sc * eb) }
            } else {  // an f32 head into the features, converted like the input
                precondition(nodes[n].type == .f32)
                let s = src.assumingMemoryBound(to: Float.self), step = scales?[n] ?? 1
                for x in 0..<pixels {
                    Graph.convert(s + x * ss, to: dst + (x * total + ch) * eb, type: dt, step: step, count: sc)
                }
            }
        }
    }

    /// f32 values into `type`: bf16 rounded to nearest even; s8/u8 as round(x / step),
    /// saturated (NaN to 0). The input conversion and the concats' share this one rule.
    static func convert(_ s: UnsafePointer<Float>, to dst: UnsafeMutableRawPointer, type: Element, step: Float, count: Int) {
        switch type {
        case .bf16:
            let t = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { t[i] = bf16(s[i]) }
        case .s8, .u8:
            let lo: Float = type == .u8 ? 0 : -127, hi = type.levels, inv = 1 / step
            let t = dst.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count {
                let v = (s[i] * inv).rounded(.toNearestOrEven)
                let q = v.isNaN ? 0 : Swift.min(hi, Swift.max(lo, v))
                t[i] = type == .u8 ? UInt8(q) : UInt8(bitPattern: Int8(q))
            }
        case .f32:
            dst.copyMemory(from: s, byteCount: count * 4)
        }
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
