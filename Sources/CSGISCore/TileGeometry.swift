import Foundation

/// How an image is cut into tiles, and what that costs: the candidates `Plan.make` chooses
/// among. Each tile streams through the network row block by row block (`StreamingPlan`),
/// so its memory grows with its width, not its area. One tile: rows go from source to sink
/// with no recomputation. Otherwise tiles are full-height strips (of a random-access image)
/// or come band by band (a band = one row of tiles, its input rows held), and each
/// recomputes a halo of context.
public struct TileGeometry: Equatable, Sendable {
    public var imageWidth: Int, imageHeight: Int
    /// Output pixels per tile (edge tiles are smaller).
    public var tileWidth: Int, tileHeight: Int
    /// Context pixels around each tile: the network's receptive radius, so tiles are exact.
    public var halo: Int
    /// Rows each convolution computes per call.
    public var rowsPerStep: Int
    /// Tile and strip origins, tile sizes and halo are multiples of it: 4 when Winograd
    /// F(4x4, 3x3) layers run (AVX-512 with `CSGIS_WINOGRAD2=0`; rows per step too), 12 when
    /// F(2x2, 3x3) layers run (`Winograd2`: AVX2 and up), else 1 (`Winograd.grid`).
    public var grid: Int
    /// Estimated peak bytes of the variable working set (row windows, band buffers, weights).
    public var estimatedBytes: Int
    /// Work done / work of one whole-image pass (1.0 = no halo recomputation).
    public var overhead: Double

    public var tilesAcross: Int { (imageWidth + tileWidth - 1) / tileWidth }
    public var tilesDown: Int { (imageHeight + tileHeight - 1) / tileHeight }
    /// One tile: the image streams straight from source to sink.
    var isWholeImage: Bool { tilesAcross == 1 && tilesDown == 1 }
    /// Tiles are strips of the full height over a random-access image: no band buffers.
    var isStrips = false
    /// The budget holds the whole image's activations: it is read whole and run in one
    /// pass per layer (faster than row streaming: benchmarks/README.md; the same floats).
    var isDense = false
    /// Input columns and rows of every tile (edge tiles are shifted inwards, never narrowed,
    /// so every tile runs the same plan). On a grid, the size is congruent to the image's
    /// modulo the grid, so the edge tile (which ends at the image's edge) starts on it too.
    public var tileInputWidth: Int { min(imageWidth, tileWidth + 2 * halo + imageWidth % grid) }
    public var tileInputHeight: Int { min(imageHeight, tileHeight + 2 * halo + imageHeight % grid) }

    /// First input row (or column) of the tile whose output starts at `start`.
    static func inputStart(_ start: Int, inputSize: Int, length: Int, halo: Int) -> Int {
        max(0, min(start - halo, length - inputSize))
    }

    init(width: Int, height: Int, tileWidth: Int, tileHeight: Int, halo: Int, rowsPerStep: Int, model: ModelConfig,
         precision: Precision, rowOverhead: Int = 0, strips: Bool = false) {
        imageWidth = width; imageHeight = height
        let g = Winograd.grid(model, precision)
        grid = g
        func aligned(_ n: Int) -> Int { (n + g - 1) / g * g }
        self.tileWidth = min(aligned(tileWidth), width); self.tileHeight = min(aligned(tileHeight), height)
        self.halo = aligned(halo)
        let ra = Winograd.rowAlignment(model, precision)
        self.rowsPerStep = (rowsPerStep + ra - 1) / ra * ra
        let inW = min(width, self.tileWidth + 2 * self.halo + width % g), inH = min(height, self.tileHeight + 2 * self.halo + height % g)
        let across = (width + self.tileWidth - 1) / self.tileWidth, down = (height + self.tileHeight - 1) / self.tileHeight
        overhead = Double(across * inW) * Double(down * inH) / (Double(width) * Double(height))
        let weights = model.parameterCount * (4 + precision.activationBytes) * 2 + Winograd2.bytes(model, precision)
        let perColumn = TileGeometry.windowBytesPerColumn(rowsPerStep: self.rowsPerStep, model: model, precision: precision)
        var bytes = perColumn * inW + weights + self.rowsPerStep * width * 12  // + one block of output rows
            + Winograd.scratchBytes(model, precision, rows: self.rowsPerStep, width: inW)
        if strips && across > 1 {
            // full-height strips of a random-access image: rows go straight from and to it
            isStrips = true
        } else if across == 1 && down == 1 {
            // rows the caller keeps from reading to writing (e.g. alpha): the pipeline's lag
            bytes += TileGeometry.lagRows(height: inH, rowsPerStep: self.rowsPerStep, model: model, precision: precision) * rowOverhead
        } else {
            bytes += inH * width * 12 + self.tileHeight * width * 12  // input band, output band
                + (inH + self.tileHeight) * rowOverhead
        }
        estimatedBytes = bytes
    }

    /// Bytes of a whole-image pass: activations, the image held as floats, the rows the
    /// caller keeps meanwhile (all of them), the weights.
    static func denseBytes(width: Int, height: Int, model: ModelConfig, precision: Precision, rowOverhead: Int) -> Int {
        let (px, o) = width.multipliedReportingOverflow(by: height)
        guard !o, px < Int.max / 1024 else { return .max }
        return Engine.activationBytes(pixels: px, config: model, precision: precision) + px * 12
            + height * rowOverhead + model.parameterCount * (4 + precision.activationBytes) * 2 + 64 * width * 12
            + Winograd.scratchBytes(model, precision, rows: Winograd.denseRows(width: width), width: width)
            + Winograd2.bytes(model, precision)
    }

    /// Row-window bytes per column of a strip, and the rows between reading and writing:
    /// from one run of the schedule on a tall strip (shorter strips need no more), cached.
    static func windowBytesPerColumn(rowsPerStep: Int, model: ModelConfig, precision: Precision) -> Int {
        schedule(rowsPerStep, model, precision).bytesPerColumn
    }

    static func lagRows(height: Int, rowsPerStep: Int, model: ModelConfig, precision: Precision) -> Int {
        min(height, schedule(rowsPerStep, model, precision).lag)
    }

    private static func schedule(_ r: Int, _ model: ModelConfig, _ precision: Precision) -> (bytesPerColumn: Int, lag: Int) {
        cache.get(Key(model: model, precision: precision, rows: r)) {
            let h = 2 * (model.receptiveRadius + r * model.layers.count) + 64  // past the pipeline's fill
            let s = StreamingPlan.schedule(height: h, rowsPerStep: r, config: model, precision: precision)
            return (s.bytesPerColumn, s.lagRows)
        }
    }

    private struct Key: Hashable { var model: ModelConfig, precision: Precision, rows: Int }
    private static let cache = Cache<Key, (bytesPerColumn: Int, lag: Int)>()

    /// The smallest tile a caller may force: below it each tile recomputes a halo many times its own area.
    public static let minTile = 32

    /// Candidate tile sizes, smallest first.
    static let sizes = [32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384]

    /// Rows per convolution call, most preferred first: more rows give oneDNN more work to
    /// share between threads; fewer need smaller windows. One row per call ran lite at half
    /// speed on 2 cores (2 rows: full speed), so it is used only when nothing else fits.
    public static let rowSteps = [8, 4, 2]
    static let lastResortRowSteps = [1]

    /// The cheapest geometry (least recomputation, then more rows per step, then fewest
    /// tiles) that fits `budget` bytes; `tile` forces square tiles of that output size.
    /// `rowOverhead`: bytes the caller holds per row in flight (read, not yet written).
    /// `randomAccess`: the image can be read and written by column range (caller memory), so
    /// strips of the full height, which hold no bands, are candidates too.
    static func choose(width: Int, height: Int, model: ModelConfig, precision: Precision,
                              budget: Int, tile: Int? = nil, rowsPerStep: Int? = nil, rowOverhead: Int = 0,
                              randomAccess: Bool = false) throws -> TileGeometry {
        guard width > 0, height > 0 else { throw CSGISError.invalidImage("size \(width)x\(height) is empty") }
        let halo = Winograd.halo(model, precision)
        func make(_ tw: Int, _ th: Int, _ r: Int, strips: Bool = false) -> TileGeometry {
            TileGeometry(width: width, height: height, tileWidth: tw, tileHeight: th, halo: halo, rowsPerStep: r, model: model,
                         precision: precision, rowOverhead: rowOverhead, strips: strips)
        }
        if let r = rowsPerStep, !(1...64).contains(r) { throw CSGISError.invalidArgument("rows per step \(r) is outside 1...64") }
        // with Winograd F(4x4, 3x3), rows per step round up to 4 (make): 1 and 2 become 4
        let steps = rowsPerStep.map { [[$0]] } ?? [TileGeometry.rowSteps, TileGeometry.lastResortRowSteps]
        if let t = tile {
            guard t >= minTile else {
                throw CSGISError.invalidArgument("tile size \(t) is below the minimum of \(minTile) pixels (smaller tiles only recompute their halo)")
            }
            guard let g = steps.joined().lazy.map({ make(t, t, $0) }).first(where: { $0.estimatedBytes <= budget }) else {
                throw CSGISError.outOfMemory("tile size \(t) needs about \(mb(make(t, t, steps.joined().last!).estimatedBytes, roundingUp: true)) but the memory budget is \(mb(budget))")
            }
            return g
        }
        // The whole image in one pass per layer, when the budget holds it (--rows forces streaming).
        if rowsPerStep == nil {
            let dense = denseBytes(width: width, height: height, model: model, precision: precision, rowOverhead: rowOverhead)
            if dense <= budget {
                var g = make(width, height, rowSteps[0])
                g.isDense = true
                g.estimatedBytes = dense
                return g
            }
        }
        var best: TileGeometry?
        var smallest: TileGeometry?
        /// Keeps `g` if it fits and beats the best so far: less recomputation, then fewer
        /// tiles (with no fewer rows per step).
        func consider(_ g: TileGeometry) {
            if smallest == nil || g.estimatedBytes < smallest!.estimatedBytes { smallest = g }
            guard g.estimatedBytes <= budget else { return }
            if best == nil || g.overhead < best!.overhead - 1e-9
                || (abs(g.overhead - best!.overhead) < 1e-9 && g.tilesAcross * g.tilesDown < best!.tilesAcross * best!.tilesDown
                    && g.rowsPerStep >= best!.rowsPerStep) {
                best = g
            }
        }
        let ws = sizes.filter { $0 < width } + [width], hs = sizes.filter { $0 < height } + [height]
        // strips first (at the same overhead and tile count they hold the least), also in
        // widths that split the image evenly, which the size list would round away
        let stripWidths = randomAccess ? Set(ws + (2...64).map { (width + $0 - 1) / $0 }.filter { $0 >= minTile }).sorted() : []
        for rowSteps in steps where best == nil {
            for r in rowSteps {
                for tw in stripWidths { consider(make(tw, height, r, strips: true)) }
                for tw in ws { for th in hs { consider(make(tw, th, r)) } }
            }
        }
        guard let b = best else {
            throw CSGISError.outOfMemory("memory budget \(mb(budget)) is too small for a \(width)x\(height) image with this model; "
                                         + "at least \(mb(smallest!.estimatedBytes, roundingUp: true)) is needed")
        }
        return b
    }
}
