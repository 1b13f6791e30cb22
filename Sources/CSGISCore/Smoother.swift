import CDNNL
import Foundation

/// The network's outputs for one image.
public struct SmoothingResult: Sendable {
    /// The smoothed image, out1 + out2, not clipped (clip when quantising).
    public var image: RGBImage
    /// interpreter2's coarse smoothing (out1); `image` minus this is refine's correction.
    public var coarse: RGBImage
    /// Structure-edge logits, width * height values.
    public var edge: [Float]
}

/// Runs a model with oneDNN: its packed weights, its primitives and a streaming plan.
/// One `Smoother` must be used from one thread at a time; create one per thread.
public final class Smoother {
    public let model: CSGISModel
    /// The precision in use (never `.auto`).
    public let precision: Precision
    /// oneDNN threads per run (0 = OpenMP's default).
    public let threads: Int
    private let ctx: DNNLContext
    private let store: WeightStore
    private var usedImplementations: Set<String> = []
    /// The most threads a run may ask for: 4 x the cores (more only adds OpenMP overhead,
    /// and tens of thousands of threads exhaust the process).
    public static var maxThreads: Int { 4 * max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// - Parameters:
    ///   - precision: `.auto` picks bf16 where the CPU has it natively, else fp32.
    ///   - threads: threads for each run; 0 keeps OpenMP's default (all cores).
    public init(model: CSGISModel, precision: Precision = .auto, threads: Int = 0) throws {
        guard threads >= 0 else { throw CSGISError.invalidArgument("thread count \(threads) is negative") }
        guard threads <= Smoother.maxThreads else {
            throw CSGISError.invalidArgument("thread count \(threads) is more than \(Smoother.maxThreads) (4 x the \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        }
        self.model = model
        self.precision = try precision.resolved()
        self.threads = threads
        ctx = try DNNLContext()
        var convs = model.convs
        // interpreter2's first conv reads all of F: zero weights for the out1 channels.
        let i2 = model.config.layers.firstIndex { $0.conv == "interpreter2.0" }!
        let c = convs[i2], dim = model.config.dim
        var w = [Float](repeating: 0, count: c.cout * (dim + 4) * 9)
        for o in 0..<c.cout { for i in 0..<c.cin { for k in 0..<9 { w[(o * (dim + 4) + i) * 9 + k] = c.weights[(o * c.cin + i) * 9 + k] } } }
        convs[i2] = FoldedConv(cin: dim + 4, cout: c.cout, dilation: 1, weights: w, bias: c.bias)
        store = try WeightStore(convs: convs, precision: self.precision, ctx: ctx)
    }

    /// oneDNN implementations used so far (e.g. "brg:avx512_core_amx").
    public var implementations: [String] { usedImplementations.union(streaming?.implementations ?? []).sorted() }

    /// Smooths a whole image (streamed through the network: memory grows with its width)
    /// and returns the network's heads too.
    public func smooth(_ image: RGBImage, shouldStop: () -> Bool = { false }) throws -> SmoothingResult {
        let w = image.width, n = image.width * image.height
        var result = [Float](repeating: 0, count: n * 3), coarse = result, edge = [Float](repeating: 0, count: n)
        var next = 0
        try stream(width: w, height: image.height, rowsPerStep: TileGeometry.rowSteps[0], read: { rows, p in
            image.pixels.withUnsafeBufferPointer { p.update(from: $0.baseAddress! + next * w * 3, count: rows * w * 3) }
            next += rows
        }, write: { y, rows, res, _, heads in
            for i in 0..<(rows * w * 3) { result[y * w * 3 + i] = res[i]; coarse[y * w * 3 + i] = heads.out1[i] }
            for i in 0..<(rows * w) { edge[y * w + i] = heads.edge[i] }
        }, shouldStop: shouldStop)
        return SmoothingResult(image: try RGBImage(width: w, height: image.height, pixels: result),
                               coarse: try RGBImage(width: w, height: image.height, pixels: coarse), edge: edge)
    }

    private var streaming: StreamingPlan?

    /// The row-streaming plan for strips `width` wide and `height` tall (one kept: a new
    /// shape frees the old plan's windows first).
    func streamingPlan(width: Int, height: Int, rowsPerStep: Int) throws -> StreamingPlan {
        if let p = streaming, p.width == width, p.height == height, p.rowsPerStep == rowsPerStep { return p }
        if let old = streaming { usedImplementations.formUnion(old.implementations) }
        streaming = nil
        let p = try StreamingPlan(width: width, height: height, rowsPerStep: rowsPerStep, config: model.config, precision: precision,
                                  store: store, ctx: ctx)
        streaming = p
        return p
    }

    /// Streams a width x height image through the network row block by row block.
    func stream(width: Int, height: Int, rowsPerStep: Int,
                read: (_ n: Int, _ into: UnsafeMutablePointer<Float>) throws -> Void,
                write: (_ row: Int, _ n: Int, _ result: UnsafePointer<Float>, _ input: UnsafePointer<Float>,
                        _ heads: StreamingPlan.Heads) throws -> Void,
                shouldStop: () -> Bool) throws {
        let p = try streamingPlan(width: width, height: height, rowsPerStep: rowsPerStep)
        if threads > 0 { csgis_set_threads(Int32(threads)) }
        try p.run(read: read, write: write, shouldStop: shouldStop)
    }
}
