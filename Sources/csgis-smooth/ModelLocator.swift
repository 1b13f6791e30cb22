import Foundation

/// Finds a model: an explicit path, a name ("base", "lite") in the model folders, or the
/// default. Folders searched: $CSGIS_MODEL_DIR, PREFIX/share/csgis/models next to the
/// installed binary, and the source tree's models/ (for a binary under .build).
enum ModelLocator {
    static let defaultName = "base"

    static var folders: [String] {
        var f: [String] = []
        if let d = ProcessInfo.processInfo.environment["CSGIS_MODEL_DIR"] { f.append(d) }
        let bin = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let dir = bin.deletingLastPathComponent()
        f.append(dir.appendingPathComponent("../share/csgis/models").standardized.path)
        // .build/<config>/csgis-smooth -> repository root
        f.append(dir.appendingPathComponent("../../models").standardized.path)
        f.append(dir.appendingPathComponent("../../../models").standardized.path)
        return f
    }

    static func resolve(_ spec: String?) throws -> String {
        let s = spec ?? ProcessInfo.processInfo.environment["CSGIS_MODEL"] ?? defaultName
        if s.contains("/") || s.hasSuffix(".safetensors") { return s }
        for d in folders {
            let p = "\(d)/csgis-\(s).safetensors"
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw CLIError("model '\(s)' not found in \(folders.joined(separator: ", ")); pass --model PATH")
    }
}
