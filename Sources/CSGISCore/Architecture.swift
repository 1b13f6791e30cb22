/// The shape of a CSGIS-Net ("HDC_edge_refine") of a given width and depth: which
/// convolutions exist, their names in the weights file, and what follows from that
/// (receptive field, cost). The single description both loading and inference use.
public struct ModelConfig: Hashable, Sendable {
    /// Channels of the hidden layers (64 in the paper).
    public var dim: Int
    /// rHDC blocks in the descriptor (12 in the paper).
    public var numBlock: Int

    /// rHDC blocks in the interpreter and in refine: fixed by the architecture (the
    /// descriptor's count is `numBlock`). `layers` names them, `Graph` wires them.
    static let interpreterBlocks = 3, refineBlocks = 6

    public init(dim: Int, numBlock: Int) {
        self.dim = dim
        self.numBlock = numBlock
    }

    /// Radius in pixels over which an output pixel depends on the input: the sum of the
    /// dilations along the longest path (135 for 64/12). Exact tiles need this much halo.
    public var receptiveRadius: Int {
        layers.filter { $0.onLongestPath }.reduce(0) { $0 + $1.dilation }
    }

    /// Floating-point operations (2 x multiply-adds) per output pixel.
    public var flopsPerPixel: Int {
        layers.reduce(0) { $0 + 2 * 9 * $1.cin * $1.cout }
    }

    /// Number of parameters in the (unfolded) network, BatchNorm affine terms included.
    public var parameterCount: Int {
        layers.reduce(0) { $0 + $1.cout * ($1.cin * 9 + 1) + ($1.bn == nil ? 0 : 2 * $1.cout) }
    }

    /// Every convolution in execution order.
    var layers: [ConvSpec] {
        var l: [ConvSpec] = []
        func block(_ p: String, main: Bool) {
            for k in 1...3 {
                l.append(ConvSpec(conv: "\(p).conv_3x3_\(k)", bn: "\(p).bn_conv_3x3_\(k)", cin: dim, cout: dim, dilation: k, onLongestPath: main))
            }
        }
        l.append(ConvSpec(conv: "descriptor.conv_in", bn: nil, cin: 3, cout: dim, dilation: 1, onLongestPath: true))
        for n in 0..<numBlock { block("descriptor.res16.\(n)", main: true) }
        l.append(ConvSpec(conv: "interpreter1.0", bn: "interpreter1.1", cin: dim, cout: dim, dilation: 1, onLongestPath: true))
        l.append(ConvSpec(conv: "interpreter1.3", bn: "interpreter1.4", cin: dim, cout: dim, dilation: 1, onLongestPath: true))
        l.append(ConvSpec(conv: "interpreter1.6", bn: nil, cin: dim, cout: 1, dilation: 1, onLongestPath: true))
        l.append(ConvSpec(conv: "interpreter2.0", bn: "interpreter2.1", cin: dim + 1, cout: dim, dilation: 1, onLongestPath: true))
        for k in 0..<ModelConfig.interpreterBlocks { block("interpreter2.\(3 + k)", main: true) }
        l.append(ConvSpec(conv: "interpreter2.6", bn: "interpreter2.7", cin: dim, cout: dim, dilation: 1, onLongestPath: true))
        l.append(ConvSpec(conv: "interpreter2.9", bn: nil, cin: dim, cout: 3, dilation: 1, onLongestPath: true))
        l.append(ConvSpec(conv: "refine.0", bn: "refine.1", cin: dim + 4, cout: dim, dilation: 1, onLongestPath: true))
        for k in 0..<ModelConfig.refineBlocks { block("refine.\(3 + k)", main: true) }
        l.append(ConvSpec(conv: "refine.9", bn: nil, cin: dim, cout: 3, dilation: 1, onLongestPath: true))
        return l
    }
}

/// One 3x3 convolution of the network and the BatchNorm that follows it, if any.
struct ConvSpec {
    var conv: String
    var bn: String?
    var cin: Int
    var cout: Int
    var dilation: Int
    var onLongestPath: Bool
}

/// Channel order a model was trained in. The engine always takes and returns RGB and
/// permutes the weights of BGR models at load.
public enum ChannelOrder: String, Sendable {
    case rgb = "RGB", bgr = "BGR"
}
