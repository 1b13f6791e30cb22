import Foundation

/// Activation storage for images of up to `capacity` pixels, shared by the plans of
/// every image size (a plan only lays memory descriptors over it).
final class Arena {
    let capacity: Int
    let config: ModelConfig
    let precision: Precision
    let buffers: [AlignedBuffer]

    /// Buffers by liveness over the graph's op order: each node takes a free buffer of its
    /// bytes per pixel when its op runs (a new one if none is free) and frees it after its
    /// last reader. A concat whose first part, or a convolution whose sum, is a source read
    /// for the last time, of the same pixel size, fills that buffer in place. The input is the caller's pixels
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
                var target: Int?  // a source the op may overwrite: a concat's first part, a conv's sum
                if case let .concat(parts) = op.kind { target = parts.first?.node }
                if case let .conv(_, _, _, _, s) = op.kind { target = s }
                if let s = target, last[s] == o, !kept.contains(s),
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
