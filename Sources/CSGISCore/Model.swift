import Foundation

/// A convolution with BatchNorm folded in: weights in PyTorch's OIHW layout.
struct FoldedConv {
    var cin: Int
    var cout: Int
    var dilation: Int
    var weights: [Float]
    var bias: [Float]
}

/// A loaded CSGIS-Net: configuration, metadata and BN-folded weights.
/// Immutable after loading; safe to share between threads and engines.
public final class CSGISModel: @unchecked Sendable {
    /// Version of the weights format this build reads.
    public static let formatVersion = "1"

    public let config: ModelConfig
    /// The file's `__metadata__` (format_version, dim, num_block, channel_order, provenance, ...).
    public let metadata: [String: String]
    public let channelOrder: ChannelOrder
    public let path: String
    /// Folded convolutions in `config.layers` order; RGB order whatever the file's.
    let convs: [FoldedConv]
    /// int8 calibration: per convolution (in `config.layers` order), the largest magnitude of
    /// the tensor it writes on natural photos; nil when the file has none (int8 refused).
    let activationMax: [Float]?
    static let activationMaxTensor = "int8.activation_max"

    /// Loads and validates a weights file; throws `CSGISError` naming what is wrong.
    public init(contentsOf path: String) throws {
        let (tensors, meta) = try SafeTensors.read(path: path)
        func bad(_ r: String) -> CSGISError { .invalidWeights(path: path, reason: r) }
        guard let version = meta["format_version"] else { throw bad("no format_version in __metadata__ (not a csgis weights file?)") }
        guard version == CSGISModel.formatVersion else {
            throw bad("format_version \(version) is not supported by this build (reads \(CSGISModel.formatVersion))")
        }
        guard let dimS = meta["dim"], let dim = Int(dimS), (1...1024).contains(dim) else { throw bad("metadata 'dim' missing or not a width in 1...1024") }
        guard let nbS = meta["num_block"], let nb = Int(nbS), (0...256).contains(nb) else { throw bad("metadata 'num_block' missing or not in 0...256") }
        guard let orderS = meta["channel_order"], let order = ChannelOrder(rawValue: orderS.uppercased()) else {
            throw bad("metadata 'channel_order' missing or not RGB/BGR")
        }
        let eps = Float(meta["bn_eps"] ?? "") ?? 1e-5
        let config = ModelConfig(dim: dim, numBlock: nb)

        var used = Set<String>()
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = tensors[name] else { throw bad("tensor '\(name)' is missing (file does not match dim \(dim), num_block \(nb))") }
            guard t.shape == shape else { throw bad("tensor '\(name)' has shape \(t.shape), expected \(shape) for dim \(dim), num_block \(nb)") }
            used.insert(name)
            return t.values
        }
        var convs: [FoldedConv] = []
        for spec in config.layers {
            var w = try tensor("\(spec.conv).weight", [spec.cout, spec.cin, 3, 3])
            var b = try tensor("\(spec.conv).bias", [spec.cout])
            if let bn = spec.bn {
                let gamma = try tensor("\(bn).weight", [spec.cout]), beta = try tensor("\(bn).bias", [spec.cout])
                let mean = try tensor("\(bn).running_mean", [spec.cout]), variance = try tensor("\(bn).running_var", [spec.cout])
                for o in 0..<spec.cout {
                    let s = gamma[o] / (variance[o] + eps).squareRoot()
                    for i in 0..<(spec.cin * 9) { w[o * spec.cin * 9 + i] *= s }
                    b[o] = (b[o] - mean[o]) * s + beta[o]
                }
            }
            convs.append(FoldedConv(cin: spec.cin, cout: spec.cout, dilation: spec.dilation, weights: w, bias: b))
        }
        let prefixes = ["descriptor.", "interpreter1.", "interpreter2.", "refine."]
        let unexpected = tensors.keys.filter { k in prefixes.contains { k.hasPrefix($0) } && !used.contains(k) && !k.hasSuffix("num_batches_tracked") }
        if let u = unexpected.sorted().first {
            throw bad("unexpected tensor '\(u)' (file does not match dim \(dim), num_block \(nb))")
        }
        if order == .bgr { CSGISModel.convertToRGB(&convs, config: config) }
        var peaks: [Float]?
        if tensors[CSGISModel.activationMaxTensor] != nil {
            let p = try tensor(CSGISModel.activationMaxTensor, [config.layers.count])
            guard p.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw bad("tensor '\(CSGISModel.activationMaxTensor)' has a negative or non-finite value") }
            peaks = p
        }
        self.activationMax = peaks
        self.config = config
        self.metadata = meta
        self.channelOrder = order
        self.path = path
        self.convs = convs
    }

    /// Permutes the weights that touch colour channels so a BGR-trained network takes and
    /// returns RGB: input channels of the first conv, output channels of both image heads,
    /// and the out1 channels that the refine stage reads back.
    static func convertToRGB(_ convs: inout [FoldedConv], config: ModelConfig) {
        let names = config.layers.map(\.conv)
        func index(_ n: String) -> Int { names.firstIndex(of: n)! }
        func swapInputs(_ c: inout FoldedConv, _ a: Int, _ b: Int) {
            for o in 0..<c.cout { for k in 0..<9 { c.weights.swapAt((o * c.cin + a) * 9 + k, (o * c.cin + b) * 9 + k) } }
        }
        func swapOutputs(_ c: inout FoldedConv) {
            let n = c.cin * 9
            for i in 0..<n { c.weights.swapAt(i, 2 * n + i) }
            c.bias.swapAt(0, 2)
        }
        swapInputs(&convs[index("descriptor.conv_in")], 0, 2)
        swapOutputs(&convs[index("interpreter2.9")])
        swapOutputs(&convs[index("refine.9")])
        swapInputs(&convs[index("refine.0")], config.dim + 1, config.dim + 3)
    }
}
