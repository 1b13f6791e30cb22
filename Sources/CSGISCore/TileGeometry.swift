import Foundation

/// How an image is cut into tiles: output tile size, halo, and what that costs.
/// Tiles are processed band by band (a band = one row of tiles), so memory grows with the
/// image width times the band's input height, never with the image height.
public struct TileGeometry: Equatable, Sendable {
    public var imageWidth: Int, imageHeight: Int
    /// Output pixels per tile (edge tiles are smaller).
    public var tileWidth: Int, tileHeight: Int
    /// Context pixels around each tile: the network's receptive radius, so tiles are exact.
    public var halo: Int
    /// Estimated peak bytes of the variable working set (activations, band buffers, weights).
    public var estimatedBytes: Int
    /// Work done / work of one whole-image pass (1.0 = no halo recomputation).
    public var overhead: Double

    public var tilesAcross: Int { (imageWidth + tileWidth - 1) / tileWidth }
    public var tilesDown: Int { (imageHeight + tileHeight - 1) / tileHeight }
    /// Input rows a band needs at most (tile height plus halo above and below, clipped).
    public var bandInputRows: Int { min(imageHeight, tileHeight + 2 * halo) }
    /// Largest tile input, in pixels.
    public var maxTilePixels: Int { min(imageWidth, tileWidth + 2 * halo) * bandInputRows }

    /// Input extent of the tile whose output starts at `start` (length `size`) on an axis of `length`.
    static func inputSpan(start: Int, size: Int, length: Int, halo: Int) -> Range<Int> {
        max(0, start - halo)..<min(length, start + size + halo)
    }

    /// Sum of tile input lengths along one axis.
    static func axisWork(length: Int, tile: Int, halo: Int) -> Int {
        stride(from: 0, to: length, by: tile).reduce(0) { $0 + inputSpan(start: $1, size: tile, length: length, halo: halo).count }
    }

    init(width: Int, height: Int, tileWidth: Int, tileHeight: Int, halo: Int, model: ModelConfig, precision: Precision,
         rowOverhead: Int = 0) {
        imageWidth = width; imageHeight = height
        self.tileWidth = min(tileWidth, width); self.tileHeight = min(tileHeight, height)
        self.halo = halo
        let work = Double(TileGeometry.axisWork(length: width, tile: self.tileWidth, halo: halo))
            * Double(TileGeometry.axisWork(length: height, tile: self.tileHeight, halo: halo))
        overhead = work / (Double(width) * Double(height))
        let tilePx = min(width, self.tileWidth + 2 * halo) * min(height, self.tileHeight + 2 * halo)
        let weights = model.parameterCount * (4 + precision.activationBytes) * 2
        estimatedBytes = Smoother.activationBytes(pixels: tilePx, dim: model.dim, precision: precision)
            + tilePx * 12                                         // contiguous tile input
            + min(height, self.tileHeight + 2 * halo) * width * 12 // input band
            + self.tileHeight * width * 12                        // output band
            + weights
            // what the caller keeps per row between reading and writing it (e.g. alpha)
            + (min(height, self.tileHeight + 2 * halo) + self.tileHeight) * rowOverhead
    }

    /// The smallest tile a caller may force: below it each tile recomputes a halo many times its own area.
    public static let minTile = 32

    /// Candidate tile sizes, smallest first.
    static let sizes = [16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384]

    /// The cheapest geometry (least recomputation, then fewest tiles) that fits `budget`
    /// bytes; `tile` forces square tiles of that output size.
    /// `rowOverhead`: bytes the caller holds per row in flight (read, not yet written).
    public static func choose(width: Int, height: Int, model: ModelConfig, precision: Precision,
                              budget: Int, tile: Int? = nil, rowOverhead: Int = 0) throws -> TileGeometry {
        guard width > 0, height > 0 else { throw CSGISError.invalidImage("size \(width)x\(height) is empty") }
        let halo = model.receptiveRadius
        if let t = tile {
            guard t >= minTile else {
                throw CSGISError.invalidArgument("tile size \(t) is below the minimum of \(minTile) pixels (smaller tiles only recompute their halo)")
            }
            let g = TileGeometry(width: width, height: height, tileWidth: t, tileHeight: t, halo: halo, model: model, precision: precision,
                                 rowOverhead: rowOverhead)
            guard g.estimatedBytes <= budget else {
                throw CSGISError.outOfMemory("tile size \(t) needs about \(mb(g.estimatedBytes)) but the memory budget is \(mb(budget))")
            }
            return g
        }
        var best: TileGeometry?
        let ws = sizes.filter { $0 < width } + [width], hs = sizes.filter { $0 < height } + [height]
        var smallest: TileGeometry?
        for tw in ws { for th in hs {
            let g = TileGeometry(width: width, height: height, tileWidth: tw, tileHeight: th, halo: halo, model: model, precision: precision,
                                 rowOverhead: rowOverhead)
            if smallest == nil || g.estimatedBytes < smallest!.estimatedBytes { smallest = g }
            guard g.estimatedBytes <= budget else { continue }
            if best == nil || g.overhead < best!.overhead - 1e-9
                || (abs(g.overhead - best!.overhead) < 1e-9 && g.tilesAcross * g.tilesDown < best!.tilesAcross * best!.tilesDown) {
                best = g
            }
        } }
        guard let b = best else {
            throw CSGISError.outOfMemory("memory budget \(mb(budget)) is too small for a \(width)x\(height) image with this model; "
                                         + "at least \(mb(smallest!.estimatedBytes)) is needed")
        }
        return b
    }

    /// Half of the memory the system reports available (MemAvailable), or 2 GiB if unknown.
    public static var defaultBudget: Int {
        // procfs files report size 0: read as a stream
        if let h = FileHandle(forReadingAtPath: "/proc/meminfo"), case let s = String(decoding: h.readDataToEndOfFile(), as: UTF8.self),
           let line = s.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
            return kb * 1024 / 2
        }
        return 2 << 30
    }
}

/// A byte count for messages, precise enough that two different sizes never print alike.
func mb(_ bytes: Int) -> String {
    let m = Double(bytes) / 1_048_576
    return m >= 10 ? String(format: "%.0f MB", m) : m >= 1 ? String(format: "%.1f MB", m) : String(format: "%.0f KB", Double(bytes) / 1024)
}
