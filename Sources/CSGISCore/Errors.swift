import Foundation

/// Every failure the core reports: each names the problem in words a user can act on.
public enum CSGISError: Error, CustomStringConvertible, Equatable {
    /// The weights file is missing or cannot be read.
    case cannotRead(path: String, reason: String)
    /// The weights file is not a valid CSGIS-Net safetensors file.
    case invalidWeights(path: String, reason: String)
    /// An image given to the engine is malformed (sizes, pixel count, values).
    case invalidImage(String)
    /// An option or argument is out of range (strength, threads, tile size, budget).
    case invalidArgument(String)
    /// The requested option cannot be honoured on this machine.
    case unsupported(String)
    /// oneDNN refused an operation.
    case backend(String)
    /// A temporary file could not be written or read back.
    case io(String)
    /// Not enough memory for the requested work.
    case outOfMemory(String)
    /// The caller asked the work to stop.
    case cancelled

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "cannot read weights '\(path)': \(reason)"
        case let .invalidWeights(path, reason): return "invalid weights file '\(path)': \(reason)"
        case let .invalidImage(m): return "invalid image: \(m)"
        case let .invalidArgument(m): return m
        case let .unsupported(m): return "unsupported: \(m)"
        case let .backend(m): return "oneDNN error: \(m)"
        case let .io(m): return "I/O error: \(m)"
        case let .outOfMemory(m): return "out of memory: \(m)"
        case .cancelled: return "cancelled"
        }
    }
}

/// A byte count for messages; `roundingUp` for what is needed, so "budget 18 MB is too small;
/// at least 19 MB is needed" never names the budget it refuses.
func mb(_ bytes: Int, roundingUp: Bool = false) -> String {
    var m = Double(bytes) / 1_048_576, k = Double(bytes) / 1024
    if roundingUp { m = m >= 10 ? m.rounded(.up) : (m * 10).rounded(.up) / 10; k = k.rounded(.up) }
    return m >= 10 ? String(format: "%.0f MB", m) : m >= 1 ? String(format: "%.1f MB", m) : String(format: "%.0f KB", k)
}
