import Foundation
import CDNNL

/// Arithmetic precision of the convolutions.
public enum Precision: String, CaseIterable, Sendable {
    /// bf16 where the CPU computes it natively (AVX512-BF16/AMX), else fp32; the environment
    /// variable `CSGIS_PRECISION` (fp32 or bf16) overrides that choice (tests run the suite
    /// both ways on one machine).
    case auto
    /// 32-bit float everywhere: matches the PyTorch reference within 1e-4.
    case fp32
    /// bf16 activations and weights, fp32 accumulation, bias and image heads.
    case bf16

    /// The precision actually used on this machine; `.bf16` is honoured only where native
    /// (oneDNN's emulation on older CPUs is slower than fp32).
    public func resolved() throws -> Precision {
        switch self {
        case .auto:
            switch ProcessInfo.processInfo.environment["CSGIS_PRECISION"] ?? "" {
            case "", "auto": return CPUInfo.hasNativeBF16 ? .bf16 : .fp32
            case "fp32": return .fp32
            case "bf16": return try Precision.bf16.resolved()
            case let v: throw CSGISError.invalidArgument("CSGIS_PRECISION is '\(v)'; use auto, fp32 or bf16")
            }
        case .fp32: return .fp32
        case .bf16:
            guard CPUInfo.hasNativeBF16 else {
                throw CSGISError.unsupported("bf16 needs AVX512-BF16 or AMX; this CPU offers \(CPUInfo.isaName) (use fp32 or auto)")
            }
            return .bf16
        }
    }

    var activationType: dnnl_data_type_t { self == .bf16 ? dnnl_bf16 : dnnl_f32 }
    var activationBytes: Int { self == .bf16 ? 2 : 4 }
}
