import Foundation

/// Runs plans (`Plan`) on an engine: exact tiles (halo = receptive radius, clipped at the
/// image border exactly where the whole image is zero-padded) from a row source to a row
/// sink or over a random-access image, within the plan's budget. Holds the settings a plan
/// is asked with (budget, forced tiles); `plan` asks the one planner.
/// One instance must be used from one thread at a time.
public final class Scheduler {
    public let model: CSGISModel
    public let engine: Engine
    /// Bytes the variable working set may use; nil = the planner's default (half of available RAM).
    public let memoryBudget: Int?
    /// Forced square tile size, or nil to let the planner choose.
    public let tileSize: Int?
    /// Forced rows per convolution call, or nil to let the planner choose.
    public let rowsPerStep: Int?

    /// - Parameters:
    ///   - memoryBudget: bytes; nil = the planner's default.
    ///   - tileSize: force tiles of this output size (for tests and tuning).
    public convenience init(model: CSGISModel, precision: Precision = .auto, threads: Int = 0,
                            memoryBudget: Int? = nil, tileSize: Int? = nil, rowsPerStep: Int? = nil) throws {
        self.init(engine: try Engine(model: model, precision: precision, threads: threads), memoryBudget: memoryBudget,
                  tileSize: tileSize, rowsPerStep: rowsPerStep)
    }

    /// Runs on an existing engine, whose packed weights, primitives and row windows are
    /// reused (what a preview redrawing again and again wants).
    public init(engine: Engine, memoryBudget: Int? = nil, tileSize: Int? = nil, rowsPerStep: Int? = nil) {
        self.model = engine.model
        self.engine = engine
        self.memoryBudget = memoryBudget
        self.tileSize = tileSize
        self.rowsPerStep = rowsPerStep
    }

    public var precision: Precision { engine.precision }

    /// The plan for a width x height image reached through `access`, with this engine's
    /// model and precision and these settings (`Plan.make`: the one planner).
    public func plan(width: Int, height: Int, access: ImageAccess = .rows(), strength: Float = 1,
                     reserved: Plan.Reservation? = nil, whole: Int? = nil) throws -> Plan {
        try Plan.make(model: model.config, precision: engine.precision, width: width, height: height, access: access,
                      strength: strength, budget: memoryBudget, tile: tileSize, rowsPerStep: rowsPerStep, reserved: reserved,
                      whole: whole)
    }

    /// Runs `plan` over an image read and written by column range (`RandomAccessImage`):
    /// strips read and write it directly, so no band of rows is held and the recomputed
    /// halo is only at the strips' sides; other modes read and write it as whole rows.
    /// The same floats as every other mode.
    public func run(_ plan: Plan, image: RandomAccessImage, progress: ((SmoothingProgress) -> Bool)? = nil,
                    shouldStop: @escaping () -> Bool = { false }) throws {
        guard let g = plan.geometry, plan.mode == .strips || plan.mode == .spooledStrips else {
            let rows = SequentialRows(image, width: plan.width)
            return try run(plan, source: rows, sink: rows, progress: progress, shouldStop: shouldStop)
        }
        let work = RunProgress(tiles: g.tilesAcross, totalWork: Double(g.tilesAcross) * Double(g.tileInputWidth) * Double(plan.height),
                            progress: progress)
        for x0 in stride(from: 0, to: plan.width, by: g.tileWidth) {
            try streamTile(g, x0: x0, height: plan.height, strength: plan.strength, work: work, shouldStop: shouldStop,
                           read: image.readRows, write: image.writeRows)
        }
    }

    /// Streams the tile whose output starts at column `x0` (all `height` rows of its input
    /// columns from `read`, tile rows counted from 0) and hands each finished block of rows,
    /// blended and cut to the tile's output columns, to `write`: the one per-tile loop of
    /// strips and bands.
    private func streamTile(_ g: TileGeometry, x0: Int, height: Int, strength: Float, work: RunProgress, shouldStop: () -> Bool,
                         read: (_ first: Int, _ count: Int, _ columns: Range<Int>, _ into: UnsafeMutablePointer<Float>) throws -> Void,
                         write: (_ first: Int, _ count: Int, _ columns: Range<Int>, _ from: UnsafePointer<Float>) throws -> Void) throws {
        let inW = g.tileInputWidth, x1 = min(g.imageWidth, x0 + g.tileWidth)
        let sx = TileGeometry.inputStart(x0, inputSize: inW, length: g.imageWidth, halo: g.halo)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: g.rowsPerStep * (x1 - x0) * 3)
        defer { out.deallocate() }
        var next = 0  // tile row to read next
        try engine.stream(width: inW, height: height, rowsPerStep: g.rowsPerStep, read: { n, p in
            try read(next, n, sx..<(sx + inW), p)
            next += n
        }, write: { y, n, res, inp in
            for r in 0..<n {
                let o = (x0 - sx + r * inW) * 3
                Scheduler.blend(out + r * (x1 - x0) * 3, res + o, inp + o, (x1 - x0) * 3, strength)
            }
            try write(y, n, x0..<x1, out)
            try work.report(n * inW)
        }, shouldStop: shouldStop)
        work.tilesDone += 1
    }

    /// out[i] = input + strength * (result - input), for n floats.
    static func blend(_ out: UnsafeMutablePointer<Float>, _ res: UnsafePointer<Float>, _ inp: UnsafePointer<Float>, _ n: Int,
                      _ strength: Float) {
        if strength == 1 { out.update(from: res, count: n); return }
        for i in 0..<n { out[i] = inp[i] + strength * (res[i] - inp[i]) }
    }

    /// Runs `plan` from `source` to `sink`, rows in order.
    /// - Parameters:
    ///   - progress: called as rows are finished; return false to cancel.
    ///   - shouldStop: polled between layers for prompt cancellation.
    /// - Throws: `CSGISError.cancelled` when cancelled; the sink then has only whole rows.
    public func run(_ plan: Plan, source: RowSource, sink: RowSink, progress: ((SmoothingProgress) -> Bool)? = nil,
                    shouldStop: @escaping () -> Bool = { false }) throws {
        let width = plan.width, height = plan.height, strength = plan.strength
        guard let g = plan.geometry else { return try Scheduler.passThrough(width: width, height: height, source: source, sink: sink) }
        guard plan.mode != .strips && plan.mode != .spooledStrips else {
            throw CSGISError.invalidArgument("a plan of strips runs over a random-access image, not a row stream")
        }
        let rowFloats = width * 3, R = g.rowsPerStep
        let inW = g.tileInputWidth, inH = g.tileInputHeight
        let work = RunProgress(tiles: g.tilesAcross * g.tilesDown, totalWork: Double(g.tilesAcross * g.tilesDown) * Double(inW) * Double(inH),
                            progress: progress)
        func report(_ pixels: Int) throws { try work.report(pixels) }
        func blend(_ out: UnsafeMutablePointer<Float>, _ res: UnsafePointer<Float>, _ inp: UnsafePointer<Float>, _ n: Int) {
            Scheduler.blend(out, res, inp, n, strength)
        }

        if plan.mode == .dense {
            // Read whole, one pass per layer, written in blocks of rows. The first rows
            // arrive before the activations are reserved, so a broken input fails first.
            let image = UnsafeMutablePointer<Float>.allocate(capacity: width * height * 3)
            defer { image.deallocate() }
            var y = 0
            while y < height {
                let n = min(64, height - y)
                try source.readRows(n, into: image + y * rowFloats)
                y += n
            }
            // progress between layers: the plan polls shouldStop after each block
            let stops = InferencePlan.stopPolls(model.config), pixels = width * height
            var polled = 0, reported = 0
            let plan = try engine.runWhole(UnsafeBufferPointer(start: image, count: pixels * 3), width: width, height: height,
                                            shouldStop: {
                if shouldStop() { return true }
                polled += 1
                let target = pixels / stops * min(polled, stops - 1)  // the last share comes with the rows
                do { try report(target - reported); reported = target } catch { return true }
                return false
            })
            let res = plan.resultPointer
            y = 0
            let out = UnsafeMutablePointer<Float>.allocate(capacity: 64 * rowFloats)
            defer { out.deallocate() }
            while y < height {
                let n = min(64, height - y)
                blend(out, res + y * rowFloats, image + y * rowFloats, n * rowFloats)
                try sink.writeRows(n, from: out)
                y += n
            }
            try report(pixels - reported)
            return
        }
        if plan.mode == .rows {
            // The first rows arrive before the row windows are allocated, so an empty or
            // broken input fails before the working set exists.
            let first = UnsafeMutablePointer<Float>.allocate(capacity: min(R, height) * rowFloats)
            let out = UnsafeMutablePointer<Float>.allocate(capacity: R * rowFloats)
            defer { first.deallocate(); out.deallocate() }
            try source.readRows(min(R, height), into: first)
            var firstServed = false
            try engine.stream(width: width, height: height, rowsPerStep: R, read: { n, p in
                if firstServed { return try source.readRows(n, into: p) }
                precondition(n == min(R, height))
                p.update(from: first, count: n * rowFloats)
                firstServed = true
            }, write: { _, n, res, inp in
                blend(out, res, inp, n * rowFloats)
                try sink.writeRows(n, from: out)
                try report(n * width)
            }, shouldStop: shouldStop)
            return
        }

        let band = UnsafeMutablePointer<Float>.allocate(capacity: inH * rowFloats)
        let outBand = UnsafeMutablePointer<Float>.allocate(capacity: g.tileHeight * rowFloats)
        defer { band.deallocate(); outBand.deallocate() }
        var lo = 0, hi = 0  // image rows [lo, hi) are in `band`, row lo at band row 0
        for y0 in stride(from: 0, to: height, by: g.tileHeight) {
            let y1 = min(height, y0 + g.tileHeight)
            let sy = TileGeometry.inputStart(y0, inputSize: inH, length: height, halo: g.halo)
            if sy > lo {  // slide: keep the rows this band shares with the last
                let keep = max(0, hi - sy)
                if keep > 0 { band.update(from: band + (sy - lo) * rowFloats, count: keep * rowFloats) }
                lo = sy
                hi = lo + keep
            }
            if sy + inH > hi {
                try source.readRows(sy + inH - hi, into: band + (hi - lo) * rowFloats)
                hi = sy + inH
            }
            for x0 in stride(from: 0, to: width, by: g.tileWidth) {
                try streamTile(g, x0: x0, height: inH, strength: strength, work: work, shouldStop: shouldStop, read: { first, n, cols, p in
                    for r in 0..<n { (p + r * inW * 3).update(from: band + (sy - lo + first + r) * rowFloats + cols.lowerBound * 3, count: inW * 3) }
                }, write: { ty, n, cols, res in
                    for r in 0..<n where (y0..<y1).contains(sy + ty + r) {
                        (outBand + (sy + ty + r - y0) * rowFloats + cols.lowerBound * 3).update(from: res + r * cols.count * 3, count: cols.count * 3)
                    }
                })
            }
            try sink.writeRows(y1 - y0, from: outBand)
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
        try run(try plan(width: image.width, height: image.height, strength: strength), source: src, sink: sink,
                progress: progress, shouldStop: shouldStop)
        return try RGBImage(width: image.width, height: image.height, pixels: sink.pixels)
    }
}
