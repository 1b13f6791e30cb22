import Foundation
import CDNNL

/// Arithmetic precision of the convolutions.
public enum Precision: String, CaseIterable, Sendable {
    /// bf16 where the CPU computes it faster than fp32 (`CPUInfo.bf16IsFaster`: AMX, or AMD's
    /// AVX512-BF16), else fp32; the environment
    /// variable `CSGIS_PRECISION` (fp32 or bf16) overrides that choice (tests run the suite
    /// both ways on one machine).
    case auto
    /// 32-bit float everywhere: matches the PyTorch reference within 1e-4.
    case fp32
    /// bf16 activations and weights, fp32 accumulation, bias and image heads.
    case bf16
    /// 8-bit activations (one scale per tensor, from the model's calibration) and weights
    /// (one scale per output channel), 32-bit integer accumulation; fp32 image heads. Runs on
    /// every CPU (VNNI and AMX where present); never picked by `.auto`, since it trades some
    /// accuracy for speed; needs a model file with `int8.activation_max`.
    case int8

    /// The precision actually used on this machine; `.bf16` is honoured only where native
    /// (oneDNN's emulation on older CPUs is slower than fp32).
    public func resolved() throws -> Precision {
        switch self {
        case .auto:
            switch ProcessInfo.processInfo.environment["CSGIS_PRECISION"] ?? "" {
            case "", "auto": return CPUInfo.bf16IsFaster ? .bf16 : .fp32
            case "fp32": return .fp32
            case "bf16": return try Precision.bf16.resolved()
            case let v: throw CSGISError.invalidArgument("CSGIS_PRECISION is '\(v)'; use auto, fp32 or bf16")
            }
        case .fp32: return .fp32
        case .int8: return .int8
        case .bf16:
            guard CPUInfo.hasNativeBF16 else {
                throw CSGISError.unsupported("bf16 needs AVX512-BF16 or AMX; this CPU offers \(CPUInfo.isaName) (use fp32 or auto)")
            }
            return .bf16
        }
    }

    /// "auto, fp32, bf16 or int8": the one list every front end's help and errors give.
    public static var names: String {
        let n = allCases.map(\.rawValue)
        return n.dropLast().joined(separator: ", ") + " or " + n.last!
    }

    /// How hidden activations are stored: `.s8` stands for both 8-bit types (a ReLU's output is `.u8`).
    var activation: Element { switch self { case .bf16: return .bf16; case .int8: return .s8; default: return .f32 } }
    var activationBytes: Int { activation.bytes }
}

/// An element type of the engine's tensors.
enum Element: Hashable {
    case f32, bf16, s8, u8
    var bytes: Int { switch self { case .f32: return 4; case .bf16: return 2; case .s8, .u8: return 1 } }
    var dnnl: dnnl_data_type_t {
        switch self { case .f32: return dnnl_f32; case .bf16: return dnnl_bf16; case .s8: return dnnl_s8; case .u8: return dnnl_u8 }
    }
    var isInteger: Bool { self == .s8 || self == .u8 }
    /// The largest quantised magnitude (the scale of a tensor is its calibrated maximum over this).
    var levels: Float { self == .u8 ? 255 : 127 }
}
