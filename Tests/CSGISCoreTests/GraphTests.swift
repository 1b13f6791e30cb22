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
    /// own place).
    func testBuffersAreNeverSharedWhileAlive() throws {
        for config in try configs() {
            for p in [Precision.fp32, .bf16, .int8] {
                let g = Graph(config: config, precision: p), s = Arena.slots(config: config, precision: p)
                var born = [Int](repeating: -1, count: g.nodes.count), last = born
                for (o, op) in g.ops.enumerated() {
                    if let d = op.dst { born[d] = o }
                    if case .write = op.kind { continue }
                    for src in op.sources { last[src.node] = o }
                }
                for n in [g.resultNode, g.out1Node, g.edgeNode] { last[n] = g.ops.count }
                for (o, op) in g.ops.enumerated() {
                    guard let d = op.dst, let slot = s.ofNode[d] else { continue }
                    var reads = op.sources.map(\.node)
                    if case let .concat(parts) = op.kind, let first = parts.first?.node, s.ofNode[first] == slot { reads.removeAll { $0 == first } }
                    if case let .conv(_, _, _, _, sum?) = op.kind, s.ofNode[sum] == slot { reads.removeAll { $0 == sum } }  // summed in place
                    XCTAssertFalse(reads.contains { s.ofNode[$0] == slot }, "op \(o) writes a buffer it reads")
                    XCTAssertEqual(s.bytesPerPixel[slot], g.nodes[d].channels * g.nodes[d].elementBytes)
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
