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

/// Runs the network with oneDNN: a whole image in one pass per layer (`runWhole`,
/// `smooth`) or rows block by block (`stream`); the scheduler decides which from its plan.
/// One `Engine` must be used from one thread at a time; create one per thread.
public final class Engine {
    public let model: CSGISModel
    /// The precision in use (never `.auto`).
    public let precision: Precision
    /// oneDNN threads per run (0 = OpenMP's default).
    public let threads: Int
    private let ctx: DNNLContext
    private let store: WeightStore
    private let prims: ConvPrimitives
    private var arena: Arena?
    private var plans: [Int: InferencePlan] = [:]  // by width << 32 | height
    private var planOrder: [Int] = []
    /// The most threads a run may ask for: 4 x the cores (more only adds OpenMP overhead,
    /// and tens of thousands of threads exhaust the process).
    public static var maxThreads: Int { 4 * max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Plans (primitives and descriptors, no image buffers) kept for reuse.
    static let planCacheSize = 16

    /// - Parameters:
    ///   - precision: `.auto` picks bf16 where the CPU computes it faster than fp32 (`CPUInfo.bf16IsFaster`), else fp32.
    ///   - threads: threads for each run; 0 keeps OpenMP's default (all cores).
    public init(model: CSGISModel, precision: Precision = .auto, threads: Int = 0) throws {
        guard threads >= 0 else { throw CSGISError.invalidArgument("thread count \(threads) is negative") }
        guard threads <= Engine.maxThreads else {
            throw CSGISError.invalidArgument("thread count \(threads) is more than \(Engine.maxThreads) (4 x the \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        }
        self.model = model
        self.precision = try precision.resolved()
        try Winograd.checkSetting()
        self.threads = threads
        ctx = try DNNLContext()
        var quantization: Quantization?
        if self.precision == .int8 {
            guard let peaks = model.activationMax else {
                throw CSGISError.unsupported("\(model.path) has no int8 calibration (tensor \(CSGISModel.activationMaxTensor)); "
                                             + "add one with training/export.py calibrate, or use fp32 or bf16")
            }
            quantization = Quantization(graph: Graph(config: model.config, precision: .int8), convs: Graph.convs(of: model), activationMax: peaks,
                                        vnni: CPUInfo.hasVNNI)
        }
        store = try WeightStore(convs: Graph.convs(of: model), precision: self.precision, quantization: quantization, ctx: ctx)
        prims = ConvPrimitives(store: store, precision: self.precision, ctx: ctx)
    }

    /// The part of a `width` x `height` image a run must be given so that its output over
    /// `rect` is the whole image's output there, bit for bit: `rect` grown by the context the
    /// plans read (`Winograd.halo`: the receptive radius, more where a kernel's tiles reach
    /// further), its origin moved down onto the kernels' tile grid, clipped to the image.
    /// (A host smoothing a selection runs this part and keeps `rect`'s pixels.)
    public func inputRect(for rect: (x: Int, y: Int, width: Int, height: Int), width: Int, height: Int)
        -> (x: Int, y: Int, width: Int, height: Int) {
        let c = model.config, halo = Winograd.halo(c, precision), g = Winograd.grid(c, precision)
        let x0 = max(0, rect.x - halo) / g * g, y0 = max(0, rect.y - halo) / g * g
        let x1 = min(width, rect.x + rect.width + halo), y1 = min(height, rect.y + rect.height + halo)
        return (x0, y0, x1 - x0, y1 - y0)
    }

    /// oneDNN implementations used so far (e.g. "brg:avx512_core_amx").
    public var implementations: [String] { Array(prims.implementations.union(streaming?.implementations ?? [])).sorted() }

    /// Smooths a whole image in one pass (memory grows with its area).
    public func smooth(_ image: RGBImage, shouldStop: () -> Bool = { false }) throws -> SmoothingResult {
        let plan = try image.pixels.withUnsafeBufferPointer {
            try runWhole($0, width: image.width, height: image.height, shouldStop: shouldStop)
        }
        let n = image.width * image.height
        let result = Array(UnsafeBufferPointer(start: plan.resultPointer, count: n * 3))
        let coarse = Array(UnsafeBufferPointer(start: plan.out1Pointer, count: n * 3))
        let edge = Array(UnsafeBufferPointer(start: plan.edgePointer, count: n))
        return SmoothingResult(image: try RGBImage(width: image.width, height: image.height, pixels: result),
                               coarse: try RGBImage(width: image.width, height: image.height, pixels: coarse), edge: edge)
    }

    /// Makes room for images of up to `pixels` pixels now, so later runs allocate nothing.
    func reserve(pixels: Int) throws {
        if let a = arena, a.capacity >= pixels { return }
        plans = [:]; planOrder = []; arena = nil  // free the old arena first
        arena = try Arena(capacity: pixels, config: model.config, precision: precision)
    }

    /// Bytes of activation storage for an image of `pixels` pixels.
    public static func activationBytes(pixels: Int, config: ModelConfig, precision: Precision) -> Int {
        pixels * Arena.bytesPerPixel(config: config, precision: precision)
    }

    func plan(width: Int, height: Int) throws -> InferencePlan {
        let key = width << 32 | height
        if let p = plans[key] { return p }
        try reserve(pixels: width * height)
        if planOrder.count >= Engine.planCacheSize { plans[planOrder.removeFirst()] = nil }
        let p = try InferencePlan(width: width, height: height, config: model.config, precision: precision, store: store, ctx: ctx,
                                  prims: prims, arena: arena!)
        plans[key] = p
        planOrder.append(key)
        return p
    }

    private var streaming: StreamingPlan?

    /// The row-streaming plan for strips `width` wide and `height` tall (one kept: a new
    /// shape frees the old plan's windows first).
    func streamingPlan(width: Int, height: Int, rowsPerStep: Int) throws -> StreamingPlan {
        if let p = streaming, p.width == width, p.height == height, p.rowsPerStep == rowsPerStep { return p }
        streaming = nil
        let p = try StreamingPlan(width: width, height: height, rowsPerStep: rowsPerStep, config: model.config, precision: precision,
                                  store: store, ctx: ctx)
        streaming = p
        return p
    }

    /// Streams a width x height image through the network row block by row block.
    func stream(width: Int, height: Int, rowsPerStep: Int,
                read: (_ n: Int, _ into: UnsafeMutablePointer<Float>) throws -> Void,
                write: (_ row: Int, _ n: Int, _ result: UnsafePointer<Float>, _ input: UnsafePointer<Float>) throws -> Void,
                shouldStop: () -> Bool) throws {
        let p = try streamingPlan(width: width, height: height, rowsPerStep: rowsPerStep)
        if threads > 0 { csgis_set_threads(Int32(threads)) }
        try p.run(read: read, write: write, shouldStop: shouldStop)
    }

    /// Runs one tile: `pixels` (RGB HWC, width x height); returns the plan holding the outputs.
    func runWhole(_ pixels: UnsafeBufferPointer<Float>, width: Int, height: Int, shouldStop: () -> Bool) throws -> InferencePlan {
        let p = try plan(width: width, height: height)
        if threads > 0 { csgis_set_threads(Int32(threads)) }
        try p.run(pixels, shouldStop: shouldStop)
        return p
    }
}
