import Foundation

/// The int8 form of a model for one wiring (`Graph`): a step per tensor from the model's
/// calibration (`int8.activation_max`: the largest magnitude each convolution's output
/// reached on natural photos), and per convolution its weights as s8 with one step per
/// output channel, its bias and the factors oneDNN applies to the 32-bit sums.
///
/// A tensor holds q = round(x / step). A convolution computes, per output channel o,
/// dst = outputScale[o] * (sum(q_src * q_w) + bias[o]) (oneDNN 2.x applies the scale after
/// the bias), then its ReLU, then sumScale * dst_before (the skip or out1). A concat keeps
/// each part at its own step, so a convolution reading one folds the steps of its channels
/// into its weights, relative to the concat's nominal step (its first part's).
struct Quantization {
    /// Per graph node: its step (for an f32 node, the step it gets when packed into a concat).
    let step: [Float]
    let layers: [Layer]

    struct Layer {
        var weights: [Int8]    // OIHW
        var bias: [Float]      // in units of the 32-bit sums
        var outputScale: [Float]
        var sumScale: Float
    }

    /// - vnni: the CPU multiplies 8-bit values exactly (VNNI, AMX). Without it oneDNN's
    ///   kernels sum u8 x s8 pairs into 16 bits (saturating beyond +-63 weight levels) and
    ///   halve the weights of an s8 input (exact only for even levels), so weights get 7 bits.
    init(graph g: Graph, convs: [FoldedConv], activationMax: [Float], vnni: Bool) {
        precondition(activationMax.count == convs.count)
        // every tensor's step: the input's is 1/255 (8-bit images are exact); a convolution's
        // output's from its calibration; a concat's (nominal) its first part's
        var step = [Float](repeating: 1, count: g.nodes.count)
        var convOf = [Int: (src: Int, dst: Int, sumOnto: Int?)]()
        for op in g.ops {
            switch op.kind {
            case let .conv(layer, src, _, _, sumOnto):
                let t = g.nodes[op.dst!].type
                // a convolution whose output was always 0 still needs a finite step
                step[op.dst!] = Swift.max(activationMax[layer], 1e-6) / (t == .u8 ? 255 : 127)
                convOf[layer] = (src, op.dst!, sumOnto)
            case .convert:
                step[op.dst!] = 1 / 255
            case let .concat(parts):
                step[op.dst!] = parts.first!.node.map { step[$0] } ?? 1
            case .read, .write:
                continue
            }
        }
        // per channel of each node: the step its values are stored at
        var channelStep = [[Float]](repeating: [], count: g.nodes.count)
        for (n, node) in g.nodes.enumerated() { channelStep[n] = [Float](repeating: step[n], count: node.channels) }
        for op in g.ops {
            guard case let .concat(parts) = op.kind else { continue }
            var steps: [Float] = []
            for p in parts { steps += p.node.map { Array(channelStep[$0].prefix(p.channels)) } ?? [Float](repeating: step[op.dst!], count: p.channels) }
            channelStep[op.dst!] = steps
        }
        var layers: [Layer] = []
        for (l, c) in convs.enumerated() {
            let (src, dst, sumOnto) = convOf[l]!
            let sIn = step[src], sOut = g.nodes[dst].type == .f32 ? 1 : step[dst]
            var q = [Int8](repeating: 0, count: c.weights.count)
            var bias = [Float](repeating: 0, count: c.cout), scale = [Float](repeating: 0, count: c.cout)
            let k = c.cin * 9
            for o in 0..<c.cout {
                var w = [Float](repeating: 0, count: k)
                for i in 0..<c.cin { for j in 0..<9 { w[i * 9 + j] = c.weights[o * k + i * 9 + j] * channelStep[src][i] / sIn } }
                let peak = w.reduce(0) { Swift.max($0, abs($1)) }
                // levels, and the spacing between them (in units of the weight step)
                let (levels, spacing): (Float, Float) = vnni ? (127, 1) : g.nodes[src].type == .u8 ? (63, 1) : (126, 2)
                let sw = peak > 0 ? peak / levels : 1
                for i in 0..<k { q[o * k + i] = Int8((w[i] / sw / spacing).rounded(.toNearestOrEven) * spacing) }
                bias[o] = c.bias[o] / (sIn * sw)
                scale[o] = sIn * sw / sOut
            }
            let sum: Float = sumOnto.map { g.nodes[dst].type == .f32 ? 1 : step[$0] / sOut } ?? 0
            layers.append(Layer(weights: q, bias: bias, outputScale: scale, sumScale: sum))
        }
        self.step = step
        self.layers = layers
    }
}
