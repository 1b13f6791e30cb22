// csgis-bench: times the engine on one synthetic image and prints one JSON line.
//   csgis-bench MODEL WIDTH HEIGHT [--precision auto|fp32|bf16|int8] [--threads N] [--runs N]
// Used by benchmarks/bench_engine.py, which runs PyTorch and ONNX Runtime beside it.
import CSGISCore
import Foundation

func fail(_ m: String) -> Never {
    FileHandle.standardError.write("csgis-bench: \(m)\n".data(using: .utf8)!)
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    defer { args.removeSubrange(i...(i + 1)) }
    return args[i + 1]
}
/// A numeric option, refused (not defaulted) when it is not a number.
func number(_ name: String, _ fallback: Int) -> Int {
    guard let v = option(name) else { return fallback }
    guard let n = Int(v) else { fail("\(name) must be a whole number, not '\(v)'") }
    return n
}
let precisionName = option("--precision") ?? "auto"
guard let precision = Precision(rawValue: precisionName) else {
    fail("unknown precision '\(precisionName)' (\(Precision.allCases.map(\.rawValue).joined(separator: ", ")))")
}
let threads = number("--threads", 0)
let runs = number("--runs", 3)
// --tiled BYTES: stream a procedural image through Scheduler under that budget instead.
let tiledBudget = option("--tiled").flatMap { Int($0) }
let forcedTile = option("--tile").flatMap { Int($0) }
let forcedRows = option("--rows").flatMap { Int($0) }
// --dry: with --tiled, print the chosen geometry without running.
let dry = args.contains("--dry")
args.removeAll { $0 == "--dry" }
// --random-access: with --tiled, the image is in memory (read by column range, like
// csgis_smooth's buffers), so full-height strips are possible.
let randomAccess = args.contains("--random-access")
args.removeAll { $0 == "--random-access" }
guard args.count == 3, let w = Int(args[1]), let h = Int(args[2]) else {
    fail("usage: csgis-bench MODEL WIDTH HEIGHT [--precision P] [--threads N] [--runs N]")
}
/// A procedural textured image, generated row by row (no image is ever held whole).
final class PatternSource: RowSource {
    let width: Int
    var y = 0
    init(width: Int) { self.width = width }
    func readRows(_ count: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        for r in 0..<count {
            let yy = Float(y + r)
            for x in 0..<width { for c in 0..<3 {
                buffer[(r * width + x) * 3 + c] = 0.5 + 0.3 * sin(Float(x) * 0.05 + Float(c)) * cos(yy * 0.07) + 0.1 * sin(Float(x) * yy * 0.37)
            } }
        }
        y += count
    }
}
/// The same pattern read by column range, its output discarded (csgis_smooth's memory image).
final class PatternImage: RandomAccessImage {
    let width: Int
    var rows = 0
    init(width: Int) { self.width = width }
    func readRows(_ first: Int, _ count: Int, columns: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws {
        let rowSource = PatternSource(width: width)
        rowSource.y = first
        let full = UnsafeMutablePointer<Float>.allocate(capacity: width * 3)
        defer { full.deallocate() }
        for r in 0..<count {
            try rowSource.readRows(1, into: full)
            (buffer + r * columns.count * 3).update(from: full + columns.lowerBound * 3, count: columns.count * 3)
        }
    }
    func writeRows(_ first: Int, _ count: Int, columns: Range<Int>, from buffer: UnsafePointer<Float>) throws {
        if columns.upperBound == width { rows += count }
    }
}
final class NullSink: RowSink {
    var rows = 0
    func writeRows(_ count: Int, from buffer: UnsafePointer<Float>) throws { rows += count }
}

/// Peak resident memory of this process image (VmHWM). Not getrusage's ru_maxrss: that
/// survives exec and so would count the launching process's memory (Python with PyTorch).
func peakRSSMB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
    return kb / 1024
}

if let budget = tiledBudget {
    do {
        let model = try CSGISModel(contentsOf: args[0])
        if dry {  // the scheduler's choice for any precision, whether or not this CPU runs it
            let p = precision == .auto ? try precision.resolved() : precision
            let plan = try Plan.make(model: model.config, precision: p, width: w, height: h, access: randomAccess ? .regions : .rows(),
                                     budget: budget, tile: forcedTile, rowsPerStep: forcedRows)
            let g = plan.geometry!
            print("{\"mode\":\"\(plan.mode)\",\"strips\":\(plan.mode == .strips),\"dense\":\(plan.mode == .dense),\"tile_w\":\(g.tileWidth),\"tile_h\":\(g.tileHeight),\"tiles\":\(g.tilesAcross * g.tilesDown),\"rows_per_step\":\(g.rowsPerStep),\"overhead\":\(g.overhead),\"estimated_mb\":\(Double(g.estimatedBytes) / 1_048_576),\"budget_mb\":\(Double(budget) / 1_048_576)}")
            exit(0)
        }
        let t = try Scheduler(model: model, precision: precision, threads: threads, memoryBudget: budget, tileSize: forcedTile, rowsPerStep: forcedRows)
        let plan = try t.plan(width: w, height: h, access: randomAccess ? .regions : .rows())
        let g = plan.geometry!
        let rssBefore = peakRSSMB()
        let sink = NullSink(), image = PatternImage(width: w)
        let t0 = Date()
        if randomAccess {
            try t.run(plan, image: image)
            sink.rows = image.rows
        } else {
            try t.run(plan, source: PatternSource(width: w), sink: sink)
        }
        let s = Date().timeIntervalSince(t0)
        let out: [String: Any] = [
            "engine": "csgis-tiled", "precision": t.precision.rawValue, "width": w, "height": h, "megapixels": Double(w * h) / 1e6,
            "dim": model.config.dim, "num_block": model.config.numBlock, "budget_mb": Double(budget) / 1_048_576,
            "mode": "\(plan.mode)", "strips": plan.mode == .strips, "dense": plan.mode == .dense, "tile_w": g.tileWidth, "rows_per_step": g.rowsPerStep, "tile_h": g.tileHeight, "tiles": g.tilesAcross * g.tilesDown, "halo": g.halo,
            "overhead": g.overhead, "estimated_mb": Double(g.estimatedBytes) / 1_048_576, "seconds": s,
            "s_per_mp": s / (Double(w * h) / 1e6), "peak_rss_mb": peakRSSMB(), "rss_before_run_mb": rssBefore, "rows_out": sink.rows,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self))
        exit(0)
    } catch {
        fail("\(error)")
    }
}

do {
    let t0 = Date()
    let model = try CSGISModel(contentsOf: args[0])
    let loadMs = Date().timeIntervalSince(t0) * 1000
    let smoother = try Engine(model: model, precision: precision, threads: threads)
    // A deterministic textured test pattern (values matter little for speed, but avoid zeros).
    var px = [Float](repeating: 0, count: w * h * 3)
    for y in 0..<h { for x in 0..<w { for c in 0..<3 {
        px[(y * w + x) * 3 + c] = 0.5 + 0.3 * sin(Float(x) * 0.05 + Float(c)) * cos(Float(y) * 0.07) + 0.1 * sin(Float(x * y) * 0.37)
    } } }
    let image = try RGBImage(width: w, height: h, pixels: px)
    let tf = Date()
    _ = try smoother.smooth(image)
    let first = Date().timeIntervalSince(tf)
    var times: [Double] = []
    for _ in 0..<runs {
        let t = Date()
        _ = try smoother.smooth(image)
        times.append(Date().timeIntervalSince(t))
    }
    let sorted = times.sorted()
    let median = sorted.isEmpty ? first : sorted[sorted.count / 2]
    let out: [String: Any] = [
        "engine": "csgis", "precision": smoother.precision.rawValue, "width": w, "height": h,
        "dim": model.config.dim, "num_block": model.config.numBlock, "threads": threads == 0 ? CPUInfo.defaultThreads : threads,
        "load_ms": loadMs, "first_run_s": first, "times_s": times, "median_s": median,
        "peak_rss_mb": peakRSSMB(), "isa": CPUInfo.isaName, "impls": smoother.implementations,
    ]
    let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    fail("\(error)")
}
