import Foundation

/// Activation storage for images of up to `capacity` pixels, shared by the plans of
/// every image size (a plan only lays memory descriptors over it).
final class Arena {
    let capacity: Int
    let config: ModelConfig
    let precision: Precision
    let buffers: [AlignedBuffer]

    /// The one-pass plan's buffers for a model and precision on this CPU.
    struct Slots {
        /// Bytes per pixel of each buffer.
        var bytesPerPixel: [Int] = []
        /// Each node's buffer (nil: the input, the caller's pixels).
        var ofNode: [Int?] = []
        var layout = ActivationLayout.nhwc
        /// Blocked layout only: the buffer the first convolution writes in NHWC (its source,
        /// the image, is NHWC, and oneDNN 2.6's jit kernels need both sides alike) before it
        /// is reordered into the node; free again right after.
        var firstConvNHWC: Int?
        /// Blocked layout only: NHWC copies of the outputs (result, out1, edge) for the caller.
        var nhwcOutputs: [Int] = []
    }

    /// Buffers by liveness over the graph's op order: each node takes a free buffer of its
    /// bytes per pixel when its op runs (a new one if none is free) and frees it after its
    /// last reader. A concat whose first part, or a convolution whose sum, is a source read
    /// for the last time, of the same pixel size, fills that buffer in place. The input is the caller's pixels
    /// (fp32) and is not blended here; the outputs (result, out1, edge) are never freed, so
    /// they can be read after the run.
    static func slots(config: ModelConfig, precision: Precision, layout: ActivationLayout? = nil) -> Slots {
        let layout = layout ?? ActivationLayout.dense(precision, dim: config.dim)
        return slotCache.get(SlotKey(config: config, precision: precision, layout: layout)) {
            let g = Graph(config: config, precision: precision)
            var last = [Int](repeating: -1, count: g.nodes.count)
            for (o, op) in g.ops.enumerated() {
                if case .write = op.kind { continue }
                for s in op.sources { last[s.node] = o }
            }
            let kept = Set([g.resultNode, g.out1Node, g.edgeNode])
            var r = Slots(ofNode: [Int?](repeating: nil, count: g.nodes.count), layout: layout)
            var free: [Int] = []
            func take(_ bpp: Int) -> Int {
                if let i = free.firstIndex(where: { r.bytesPerPixel[$0] == bpp }) { return free.remove(at: i) }
                r.bytesPerPixel.append(bpp)
                return r.bytesPerPixel.count - 1
            }
            func bytes(_ n: Int) -> Int { layout.stored(g.nodes[n].channels) * g.nodes[n].elementBytes }
            for (o, op) in g.ops.enumerated() {
                var inPlace: Int?
                var target: Int?  // a source the op may overwrite: a concat's first part, a conv's sum
                if case let .concat(parts) = op.kind { target = parts.first?.node }
                if case let .conv(_, _, _, _, s) = op.kind { target = s }
                if let s = target, last[s] == o, !kept.contains(s),
                   g.nodes[s].channels == g.nodes[op.dst!].channels, g.nodes[s].elementBytes == g.nodes[op.dst!].elementBytes {
                    inPlace = s
                }
                var scratch: Int?
                if layout == .blocked8, case let .conv(_, src, _, _, _) = op.kind, src == g.inputNode, let d = op.dst {
                    scratch = take(g.nodes[d].channels * g.nodes[d].elementBytes)
                    r.firstConvNHWC = scratch
                }
                if let d = op.dst, d != g.inputNode {
                    if let s = inPlace { r.ofNode[d] = r.ofNode[s] } else { r.ofNode[d] = take(bytes(d)) }
                }
                for s in Set(op.sources.map(\.node)) where last[s] == o && !kept.contains(s) && s != inPlace { if let b = r.ofNode[s] { free.append(b) } }
                if let s = scratch { free.append(s) }
            }
            if layout == .blocked8 {
                for n in [g.resultNode, g.out1Node, g.edgeNode] {
                    r.bytesPerPixel.append(g.nodes[n].channels * g.nodes[n].elementBytes)
                    r.nhwcOutputs.append(r.bytesPerPixel.count - 1)
                }
            }
            return r
        }
    }
    private struct SlotKey: Hashable { var config: ModelConfig, precision: Precision, layout: ActivationLayout }
    private static let slotCache = Cache<SlotKey, Slots>()

    /// Bytes of activation storage per pixel the planner counts: the most of any layout the
    /// precision may use, so a budget gives the same plan on every CPU (the arena allocates
    /// this CPU's, never more).
    static func bytesPerPixel(config: ModelConfig, precision: Precision) -> Int {
        ActivationLayout.possible(precision, dim: config.dim).map {
            slots(config: config, precision: precision, layout: $0).bytesPerPixel.reduce(0, +)
        }.max()!
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
