@testable import CSGISCore
import XCTest

/// The network's one wiring and the one-pass plan's buffer assignment over it.
final class GraphTests: XCTestCase {
    func configs() throws -> [ModelConfig] {
        try ["lite", "base"].map { try CSGISModel(contentsOf: Fixtures.repo.appendingPathComponent("models/csgis-\($0).safetensors").path).config }
    }

    /// Every conv of the model is wired once, in order; the outputs are f32.
    func testEveryLayerIsWiredOnce() throws {
        for config in try configs() {
            for p in [Precision.fp32, .bf16, .int8] {
                let g = Graph(config: config, precision: p)
                let layers = g.ops.compactMap { op -> Int? in if case let .conv(l, _, _, _, _) = op.kind { return l }; return nil }
                XCTAssertEqual(layers, Array(0..<config.layers.count))
                for n in [g.resultNode, g.out1Node, g.edgeNode] { XCTAssertEqual(g.nodes[n].elementBytes, 4) }
            }
        }
    }

    /// No node shares a buffer with another that is alive at the same time, and no op
    /// writes a buffer it reads, but for the in-place concatenation (its first part, at its
    /// own place). The blocked layout's extra buffers (the first convolution's NHWC output,
    /// the outputs' NHWC copies) are no node's.
    func testBuffersAreNeverSharedWhileAlive() throws {
        for config in try configs() {
            for (p, layout) in [(Precision.fp32, ActivationLayout.nhwc), (.fp32, .blocked8), (.bf16, .nhwc), (.int8, .nhwc)] {
                let g = Graph(config: config, precision: p), s = Arena.slots(config: config, precision: p, layout: layout)
                var born = [Int](repeating: -1, count: g.nodes.count), last = born
                for (o, op) in g.ops.enumerated() {
                    if let d = op.dst { born[d] = o }
                    if case .write = op.kind { continue }
                    for src in op.sources { last[src.node] = o }
                }
                for n in [g.resultNode, g.out1Node, g.edgeNode] { last[n] = g.ops.count }
                if layout == .blocked8 {
                    let used = Set(s.ofNode.compactMap { $0 })
                    XCTAssertEqual(s.nhwcOutputs.count, 3)
                    XCTAssertTrue(used.isDisjoint(with: s.nhwcOutputs), "the outputs' NHWC copies are their own")
                    let first = g.ops.first { if case let .conv(_, src, _, _, _) = $0.kind { return src == g.inputNode }; return false }!.dst!
                    XCTAssertNotNil(s.firstConvNHWC)
                    XCTAssertNotEqual(s.firstConvNHWC, s.ofNode[first], "the first convolution's NHWC output is reordered into its node")
                } else {
                    XCTAssertNil(s.firstConvNHWC)
                    XCTAssertEqual(s.nhwcOutputs, [])
                }
                for (o, op) in g.ops.enumerated() {
                    guard let d = op.dst, let slot = s.ofNode[d] else { continue }
                    var reads = op.sources.map(\.node)
                    if case let .concat(parts) = op.kind, let first = parts.first?.node, s.ofNode[first] == slot { reads.removeAll { $0 == first } }
                    if case let .conv(_, _, _, _, sum?) = op.kind, s.ofNode[sum] == slot { reads.removeAll { $0 == sum } }  // summed in place
                    XCTAssertFalse(reads.contains { s.ofNode[$0] == slot }, "op \(o) writes a buffer it reads")
                    XCTAssertEqual(s.bytesPerPixel[slot], s.layout.stored(g.nodes[d].channels) * g.nodes[d].elementBytes)
                }
                for a in g.nodes.indices { for b in g.nodes.indices where a < b {
                    guard let sa = s.ofNode[a], sa == s.ofNode[b] else { continue }
                    let overlap = born[a] < last[b] && born[b] < last[a]
                    let handOver = born[b] == last[a]  // b takes a's buffer at a's last read (in place)
                    XCTAssertTrue(!overlap || handOver, "nodes \(a) and \(b) share buffer \(sa) while both alive")
                } }
            }
        }
    }
}
