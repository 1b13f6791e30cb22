import Foundation

/// Supplies an image's rows in order, top to bottom: RGB floats, `width * 3` per row.
public protocol RowSource: AnyObject {
    /// Fills `count` rows (count * width * 3 floats) into `buffer`.
    func readRows(_ count: Int, into buffer: UnsafeMutablePointer<Float>) throws
}

/// Receives finished rows in order, top to bottom: RGB floats, `width * 3` per row.
public protocol RowSink: AnyObject {
    func writeRows(_ count: Int, from buffer: UnsafePointer<Float>) throws
}

/// SmoothingProgress of a run: the fraction of the work done and an estimate of the time left.
public struct SmoothingProgress: Sendable {
    public var fraction: Double
    public var elapsed: TimeInterval
    public var remaining: TimeInterval?
    public var tilesDone: Int, tiles: Int
}

/// Smooths images of any size within a memory budget: exact tiles (halo = receptive
/// radius, clipped at the image border exactly where the whole image is zero-padded),
/// processed band by band from a row source to a row sink.
/// One instance must be used from one thread at a time.
public final class TiledSmoother {
    public let model: CSGISModel
    public let smoother: Smoother
    /// Bytes the variable working set may use.
    public let memoryBudget: Int
    /// Forced square tile size, or nil to let the scheduler choose.
    public let tileSize: Int?
    /// Bytes per row the caller's source/sink keep between reading and writing a row;
    /// counted against the budget.
    public let rowOverhead: Int

    /// - Parameters:
    ///   - memoryBudget: bytes; nil = `TileGeometry.defaultBudget` (half of available RAM).
    ///   - tileSize: force tiles of this output size (for tests and tuning).
    ///   - rowOverhead: bytes per row the caller holds in flight (see `rowOverhead`).
    public init(model: CSGISModel, precision: Precision = .auto, threads: Int = 0,
                memoryBudget: Int? = nil, tileSize: Int? = nil, rowOverhead: Int = 0) throws {
        self.model = model
        smoother = try Smoother(model: model, precision: precision, threads: threads)
        self.memoryBudget = memoryBudget ?? TileGeometry.defaultBudget
        self.tileSize = tileSize
        self.rowOverhead = rowOverhead
        guard self.memoryBudget > 0 else { throw CSGISError.invalidArgument("memory budget must be positive") }
    }

    public var precision: Precision { smoother.precision }

    /// The geometry a run on a width x height image will use.
    public func geometry(width: Int, height: Int) throws -> TileGeometry {
        try TileGeometry.choose(width: width, height: height, model: model.config, precision: smoother.precision,
                                budget: memoryBudget, tile: tileSize, rowOverhead: rowOverhead)
    }

    /// Streams a width x height image from `source` to `sink`.
    /// - Parameters:
    ///   - strength: 0...1; the output is input + strength * (smoothed - input). At 0 the
    ///     network is not run and rows pass through unchanged.
    ///   - progress: called after each tile; return false to cancel.
    ///   - shouldStop: polled between layers for prompt cancellation.
    /// - Throws: `CSGISError.cancelled` when cancelled; the sink then has only whole bands.
    public func run(width: Int, height: Int, source: RowSource, sink: RowSink, strength: Float = 1,
                    progress: ((SmoothingProgress) -> Bool)? = nil, shouldStop: @escaping () -> Bool = { false }) throws {
        guard strength >= 0 && strength <= 1 else { throw CSGISError.invalidArgument("strength \(strength) is outside 0...1") }
        let g = try geometry(width: width, height: height)
        let rowFloats = width * 3
        if strength == 0 { return try TiledSmoother.passThrough(width: width, height: height, source: source, sink: sink) }
        let halo = g.halo
        let band = UnsafeMutablePointer<Float>.allocate(capacity: g.bandInputRows * rowFloats)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: g.tileHeight * rowFloats)
        let tileIn = UnsafeMutablePointer<Float>.allocate(capacity: g.maxTilePixels * 3)
        defer { band.deallocate(); out.deallocate(); tileIn.deallocate() }
        // The activations are reserved only once the first band has arrived, so a short or
        // broken input fails before the working set is touched (the band's own pages are
        // touched only as rows arrive).
        var reserved = false

        let totalWork = Double(TileGeometry.axisWork(length: width, tile: g.tileWidth, halo: halo))
            * Double(TileGeometry.axisWork(length: height, tile: g.tileHeight, halo: halo))
        var done = 0.0, tilesDone = 0
        let tiles = g.tilesAcross * g.tilesDown
        let start = Date()
        var lo = 0, hi = 0  // image rows [lo, hi) are in `band`, row lo at band row 0
        for y0 in stride(from: 0, to: height, by: g.tileHeight) {
            let y1 = min(height, y0 + g.tileHeight)
            let need = TileGeometry.inputSpan(start: y0, size: g.tileHeight, length: height, halo: halo)
            if need.lowerBound > lo {  // slide: keep the rows this band shares with the last
                let keep = max(0, hi - need.lowerBound)
                if keep > 0 { band.update(from: band + (need.lowerBound - lo) * rowFloats, count: keep * rowFloats) }
                lo = need.lowerBound
                hi = lo + keep
            }
            if need.upperBound > hi {
                try source.readRows(need.upperBound - hi, into: band + (hi - lo) * rowFloats)
                hi = need.upperBound
            }
            if !reserved { try smoother.reserve(pixels: g.maxTilePixels); reserved = true }
            let th = need.count
            for x0 in stride(from: 0, to: width, by: g.tileWidth) {
                let x1 = min(width, x0 + g.tileWidth)
                let span = TileGeometry.inputSpan(start: x0, size: g.tileWidth, length: width, halo: halo)
                let tw = span.count
                for r in 0..<th {
                    (tileIn + r * tw * 3).update(from: band + r * rowFloats + span.lowerBound * 3, count: tw * 3)
                }
                let plan = try smoother.runTile(UnsafeBufferPointer(start: tileIn, count: tw * th * 3), width: tw, height: th,
                                                shouldStop: shouldStop)
                let res = plan.resultPointer
                let ox = x0 - span.lowerBound, oy = y0 - need.lowerBound
                for r in 0..<(y1 - y0) {
                    let src = res + ((oy + r) * tw + ox) * 3
                    let dst = out + r * rowFloats + x0 * 3
                    let n = (x1 - x0) * 3
                    if strength == 1 {
                        dst.update(from: src, count: n)
                    } else {
                        let inp = band + (oy + r) * rowFloats + x0 * 3
                        for i in 0..<n { dst[i] = inp[i] + strength * (src[i] - inp[i]) }
                    }
                }
                done += Double(tw * th)
                tilesDone += 1
                if let progress {
                    let f = done / totalWork, el = Date().timeIntervalSince(start)
                    let p = SmoothingProgress(fraction: f, elapsed: el, remaining: f > 0 ? el * (1 - f) / f : nil, tilesDone: tilesDone, tiles: tiles)
                    if !progress(p) { throw CSGISError.cancelled }
                }
            }
            try sink.writeRows(y1 - y0, from: out)
        }
    }

    /// Strength 0: rows from `source` to `sink` unchanged, a few MB at a time, no network.
    public static func passThrough(width: Int, height: Int, source: RowSource, sink: RowSink) throws {
        let rowFloats = width * 3
        let rows = max(1, min(height, (1 << 22) / max(1, rowFloats)))
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: rows * rowFloats)
        defer { buf.deallocate() }
        var y = 0
        while y < height {
            let n = min(rows, height - y)
            try source.readRows(n, into: buf)
            try sink.writeRows(n, from: buf)
            y += n
        }
    }

    /// Smooths an in-memory image (tiled within the budget); nothing is returned if cancelled.
    public func smooth(_ image: RGBImage, strength: Float = 1, progress: ((SmoothingProgress) -> Bool)? = nil,
                       shouldStop: @escaping () -> Bool = { false }) throws -> RGBImage {
        let src = BufferSource(image), sink = BufferSink(width: image.width, height: image.height)
        try run(width: image.width, height: image.height, source: src, sink: sink, strength: strength,
                progress: progress, shouldStop: shouldStop)
        return try RGBImage(width: image.width, height: image.height, pixels: sink.pixels)
    }
}

/// A row source over an in-memory RGB float image.
public final class BufferSource: RowSource {
    private let image: RGBImage
    private var row = 0
    public init(_ image: RGBImage) { self.image = image }
    public func readRows(_ count: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        let rf = image.width * 3
        guard row + count <= image.height else { throw CSGISError.invalidImage("read past the last row") }
        image.pixels.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + row * rf, count: count * rf) }
        row += count
    }
}

/// A row sink collecting an in-memory RGB float image.
public final class BufferSink: RowSink {
    public private(set) var pixels: [Float] = []
    private let rowFloats: Int
    public init(width: Int, height: Int) {
        rowFloats = width * 3
        pixels.reserveCapacity(width * height * 3)
    }
    public func writeRows(_ count: Int, from buffer: UnsafePointer<Float>) throws {
        pixels.append(contentsOf: UnsafeBufferPointer(start: buffer, count: count * rowFloats))
    }
}
