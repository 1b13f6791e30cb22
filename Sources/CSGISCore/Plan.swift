import Foundation

/// How a run can reach its image: what the planner needs to know about it besides its size.
public enum ImageAccess: Sendable, Equatable {
    /// Read and written by rectangle (the caller's memory, region callbacks, a spool file):
    /// full-height strips, which hold no band of rows, are possible.
    case regions
    /// Rows in order, top to bottom. `rowOverhead`: bytes the caller holds per row between
    /// reading and writing it; `spool`: a temporary file could take the rows (there is room
    /// on a disk), which makes strips possible for a stream too.
    case rows(rowOverhead: Int = 0, spool: Bool = false)
}

/// How one run goes, chosen once by `Plan.make` and passed down to whatever runs it: no
/// other code chooses geometry, checks the strength or works out the default budget.
public struct Plan: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// Strength 0: rows are copied through unchanged; the network does not run.
        case passThrough
        /// The whole image's activations fit: read whole, one pass per layer.
        case dense
        /// One tile as wide and tall as the image: rows stream from source to sink.
        case rows
        /// Bands of tiles: a band of input rows is held and tiles run across it.
        case bands
        /// Full-height strips over a random-access image, read and written by column range.
        case strips
        /// A row stream spooled to temporary files, then full-height strips over them.
        case spooledStrips
    }

    public let mode: Mode
    public let width: Int, height: Int
    /// 0...1: output = input + strength * (smoothed - input).
    public let strength: Float
    /// Bytes the run may use.
    public let budget: Int
    /// The tiles; nil when passing through.
    public let geometry: TileGeometry?
    /// The input is read whole into memory before the run (only when `make` was offered it:
    /// with `.regions` access whenever offered, since such an input cannot be streamed).
    public let readsWhole: Bool

    /// Bytes a caller holds beside the run (an in-place copy, say), and the refusal when
    /// they alone exceed the budget.
    public struct Reservation: Sendable {
        public var bytes: Int, refusal: String
        public init(bytes: Int, refusal: String) { self.bytes = bytes; self.refusal = refusal }
    }

    /// The one range check of a strength (front ends call it to refuse early).
    public static func check(strength: Double) throws {
        // written so that NaN fails too
        guard strength >= 0 && strength <= 1 else { throw CSGISError.invalidArgument("strength \(strength) is outside 0...1") }
    }

    /// Whether a run at `strength` needs the network (and so a model): the one test of strength 0.
    public static func needsNetwork(strength: Double) -> Bool { strength != 0 }

    /// The one planner: checks the strength and budget, works out the default budget, and
    /// chooses the mode and tiles for a width x height image reached through `access`.
    /// - Parameters:
    ///   - model: the network's configuration; nil only at strength 0.
    ///   - precision: the precision the engine runs at (`Precision.resolved()`).
    ///   - budget: bytes for the run's working set; nil = `defaultBudget`.
    ///   - tile: forced square tiles of this output size; `rowsPerStep`: forced rows per call.
    ///   - reserved: bytes the caller holds beside the run; the run gets the rest.
    ///   - whole: bytes of reading the input whole into memory first (the filter: samples,
    ///     results, encoded output); a row stream is read whole when they fit beside a run
    ///     over the image in memory.
    public static func make(model: ModelConfig?, precision: Precision, width: Int, height: Int, access: ImageAccess,
                            strength: Float = 1, budget: Int? = nil, tile: Int? = nil, rowsPerStep: Int? = nil,
                            reserved: Reservation? = nil, whole: Int? = nil) throws -> Plan {
        try check(strength: Double(strength))
        var budget = budget ?? defaultBudget
        guard budget > 0 else { throw CSGISError.invalidArgument("memory budget must be positive") }
        if let r = reserved {
            guard r.bytes < budget else { throw CSGISError.outOfMemory(r.refusal) }
            budget -= r.bytes
        }
        func plan(_ mode: Mode, _ g: TileGeometry?, whole: Bool = false) -> Plan {
            Plan(mode: mode, width: width, height: height, strength: strength, budget: budget, geometry: g, readsWhole: whole)
        }
        let regionsOnly = access == .regions
        guard needsNetwork(strength: Double(strength)) else {
            return plan(.passThrough, nil, whole: whole.map { regionsOnly || $0 <= budget } ?? false)
        }
        guard let model else { throw CSGISError.invalidArgument("a model is needed at strength \(strength)") }
        func choose(_ randomAccess: Bool, _ rowOverhead: Int) throws -> TileGeometry {
            try TileGeometry.choose(width: width, height: height, model: model, precision: precision, budget: budget, tile: tile,
                                    rowsPerStep: rowsPerStep, rowOverhead: rowOverhead, randomAccess: randomAccess)
        }
        func regions() throws -> Plan {
            let g = try choose(true, 0)
            return plan(g.isDense ? .dense : g.isStrips ? .strips : g.isWholeImage ? .rows : .bands, g)
        }
        switch access {
        case .regions:
            let r = try regions()
            return plan(r.mode, r.geometry, whole: whole != nil)
        case let .rows(rowOverhead, spool):
            // A stream runs in bands of tiles, or in full-height strips over a spool of its
            // rows when the width does not fit the budget and strips recompute at least 3%
            // less (the spool costs a pass over the disk) or bands do not fit at all.
            var bands: TileGeometry?, refusal: Error?
            do { bands = try choose(false, rowOverhead) } catch CSGISError.outOfMemory(let m) { refusal = CSGISError.outOfMemory(m) }
            var stream: Plan
            if let b = bands, b.isDense || b.isWholeImage {
                stream = plan(b.isDense ? .dense : .rows, b)
            } else if spool, let s = try? choose(true, rowOverhead), s.isStrips, bands.map({ s.overhead < $0.overhead * 0.97 }) ?? true {
                stream = plan(.spooledStrips, s)
            } else if let b = bands {
                stream = plan(.bands, b)
            } else {
                throw refusal!
            }
            // Read whole when it fits beside a run over the samples in memory.
            if let w = whole, case let r = try regions(), let g = r.geometry, w <= budget - g.estimatedBytes {
                stream = plan(r.mode, g, whole: true)
            }
            return stream
        }
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
