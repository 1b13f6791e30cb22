import Foundation

/// The one place a model specification becomes a file: the filter, libcsgis (and through
/// it the GIMP plug-in) all resolve through here.
///
/// A specification is a path (it contains "/" or ends in ".safetensors") or a name such as
/// "base" or "lite", meaning `csgis-NAME.safetensors` in the first of these folders that
/// has it: `$CSGIS_MODEL_DIR`, then the caller's installed folder (PREFIX/share/csgis/models
/// beside the binary or library), then the source tree's models/ (for a binary under .build).
/// No specification (nil) means `$CSGIS_MODEL`, else "base" (the model that does best on
/// natural photos; lite is about 5x faster; see models/README.md). An empty specification
/// is refused: it is a caller's mistake, not a request for the default.
public enum ModelResolver {
    public static let defaultName = "base"

    /// The folders searched for a name, given where the calling binary or library lives.
    public static func folders(besideExecutableAt binary: URL) -> [String] {
        var f: [String] = []
        if let d = ProcessInfo.processInfo.environment["CSGIS_MODEL_DIR"], !d.isEmpty { f.append(d) }
        let dir = binary.resolvingSymlinksInPath().deletingLastPathComponent()
        f.append(dir.appendingPathComponent("../share/csgis/models").standardized.path)
        // .build/<config>/binary and .build/<triple>/<config>/binary -> the repository's models/
        f.append(dir.appendingPathComponent("../../models").standardized.path)
        f.append(dir.appendingPathComponent("../../../models").standardized.path)
        return f
    }

    /// The weights file for `spec` (see the type's description).
    public static func resolve(_ spec: String?, besideExecutableAt binary: URL) throws -> String {
        if spec == "" { throw CSGISError.invalidArgument("the model name is empty (pass a name, a path, or none for the default)") }
        let s = spec ?? ProcessInfo.processInfo.environment["CSGIS_MODEL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultName
        if s.contains("/") || s.hasSuffix(".safetensors") { return s }
        let searched = folders(besideExecutableAt: binary)
        for d in searched {
            let p = "\(d)/csgis-\(s).safetensors"
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw CSGISError.cannotRead(path: s, reason: "no model named '\(s)' in \(searched.joined(separator: ", ")); pass a .safetensors path")
    }
}
