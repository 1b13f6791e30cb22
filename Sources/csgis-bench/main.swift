// csgis-bench: times the engine on one synthetic image and prints one JSON line.
//   csgis-bench MODEL WIDTH HEIGHT [--precision auto|fp32|bf16] [--threads N] [--runs N]
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
let precision = Precision(rawValue: option("--precision") ?? "auto") ?? .auto
let threads = Int(option("--threads") ?? "0") ?? 0
let runs = Int(option("--runs") ?? "3") ?? 3
guard args.count == 3, let w = Int(args[1]), let h = Int(args[2]) else {
    fail("usage: csgis-bench MODEL WIDTH HEIGHT [--precision P] [--threads N] [--runs N]")
}
do {
    let t0 = Date()
    let model = try CSGISModel(contentsOf: args[0])
    let loadMs = Date().timeIntervalSince(t0) * 1000
    let smoother = try Smoother(model: model, precision: precision, threads: threads)
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
    var ru = rusage()
    getrusage(RUSAGE_SELF.rawValue, &ru)
    let sorted = times.sorted()
    let median = sorted.isEmpty ? first : sorted[sorted.count / 2]
    let out: [String: Any] = [
        "engine": "csgis", "precision": smoother.precision.rawValue, "width": w, "height": h,
        "dim": model.config.dim, "num_block": model.config.numBlock, "threads": threads == 0 ? CPUInfo.defaultThreads : threads,
        "load_ms": loadMs, "first_run_s": first, "times_s": times, "median_s": median,
        "peak_rss_mb": Double(ru.ru_maxrss) / 1024, "isa": CPUInfo.isaName, "impls": smoother.implementations,
    ]
    let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    fail("\(error)")
}
