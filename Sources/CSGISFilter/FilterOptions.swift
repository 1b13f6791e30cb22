import CSGISCore
import CSGISImageIO
import Foundation

/// What one run of the filter is asked to do, already parsed (the executable's argument
/// parser fills it; tests build it directly).
public struct FilterOptions: Sendable {
    /// Input path, or "-" for stdin.
    public var input = "-"
    /// Output path, or "-" for stdout (files are written atomically).
    public var output = "-"
    /// A .safetensors path or a model name (base, lite); nil: the default model.
    public var model: String?
    /// 0...1; 0 returns the input exactly and needs no model.
    public var strength = 1.0
    public var precision = Precision.auto
    /// 0 = all cores.
    public var threads = 0
    /// Memory budget in bytes; nil: the default (half of available memory).
    public var memory: Int?
    /// Force square tiles of this size.
    public var tile: Int?
    /// Output format; nil: from the output file's extension, else like the input.
    public var format: ImageFormat?
    /// No progress or notes on stderr.
    public var quiet = false

    public init() {}

    /// The formats `--format` and output extensions name.
    public static let formatNames = ["pam", "pnm", "ppm", "pgm", "png"]

    /// A format name (pam, pnm, ppm, pgm, png, any case) -> the format written; nil if unknown.
    public static func format(named name: String) -> ImageFormat? {
        switch name.lowercased() {
        case "png": return .png
        case "pam": return .pam(tupleType: "")
        case "pnm", "ppm", "pgm": return .pnm(magic: "P6")
        default: return nil
        }
    }

    /// "512M", "4G", "1.5GB", "65536" -> bytes; nil for anything else, under a byte, negative,
    /// non-finite or over 2^62 (so the conversion to Int cannot trap).
    public static func parseBytes(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("GB", 1 << 30), ("G", 1 << 30), ("MB", 1 << 20), ("M", 1 << 20), ("KB", 1 << 10), ("K", 1 << 10), ("B", 1)]
        for (u, m) in units where t.hasSuffix(u) {
            guard let v = Double(t.dropLast(u.count)), v > 0, v.isFinite, v * Double(m) < 0x1p62 else { return nil }
            let bytes = Int(v * Double(m))
            return bytes > 0 ? bytes : nil
        }
        guard let v = Int(t), v > 0 else { return nil }
        return v
    }
}
