import CDNNL
import Foundation

/// Throws a `CSGISError` when a oneDNN call fails, naming the call.
@inline(__always)
func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
    guard status == dnnl_success else {
        if status == dnnl_out_of_memory { throw CSGISError.outOfMemory("oneDNN could not allocate memory for \(what())") }
        throw CSGISError.backend("\(what()) failed with status \(status.rawValue)")
    }
}

/// oneDNN memory object over storage owned elsewhere (or by oneDNN itself).
final class DNNLMemory {
    let handle: dnnl_memory_t
    init(_ make: (UnsafeMutablePointer<dnnl_memory_t?>) -> dnnl_status_t, _ what: String) throws {
        var m: dnnl_memory_t?
        try check(make(&m), what)
        handle = m!
    }
    deinit { dnnl_memory_destroy(handle) }
}

/// A oneDNN primitive (convolution or reorder) with its descriptor when it has one.
final class DNNLPrimitive {
    let handle: dnnl_primitive_t
    let pd: dnnl_primitive_desc_t?
    init(handle: dnnl_primitive_t, pd: dnnl_primitive_desc_t?) {
        self.handle = handle
        self.pd = pd
    }
    deinit {
        dnnl_primitive_destroy(handle)
        if let pd { dnnl_primitive_desc_destroy(pd) }
    }
}

/// A CPU engine and its stream. One per `Engine`; not shared between threads.
final class DNNLContext {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    init() throws {
        var e: dnnl_engine_t?
        try check(dnnl_engine_create(&e, dnnl_cpu, 0), "creating the CPU engine")
        var s: dnnl_stream_t?
        let st = dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue)
        if st != dnnl_success { dnnl_engine_destroy(e) }
        try check(st, "creating a stream")
        engine = e!
        stream = s!
    }
    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    func reorder(_ src: DNNLMemory, _ dst: DNNLMemory) throws -> DNNLPrimitive {
        var p: dnnl_primitive_t?
        try check(csgis_reorder_create(engine, src.handle, dst.handle, &p), "creating a reorder")
        return DNNLPrimitive(handle: p!, pd: nil)
    }

    func run(reorder p: DNNLPrimitive, _ src: DNNLMemory, _ dst: DNNLMemory) throws {
        try check(csgis_reorder_execute(p.handle, stream, src.handle, dst.handle), "running a reorder")
    }
}

/// 64-byte aligned storage that oneDNN memory objects point into: zero-initialised, or
/// left untouched (no resident pages until written) for buffers written before being read.
final class AlignedBuffer {
    let raw: UnsafeMutableRawPointer
    let bytes: Int
    init(bytes: Int, zeroed: Bool = true) throws {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, max(bytes, 64)) == 0, let p else {
            throw CSGISError.outOfMemory("could not allocate \(bytes) bytes")
        }
        if zeroed { memset(p, 0, max(bytes, 64)) }
        raw = p
        self.bytes = bytes
    }
    deinit { free(raw) }
}

/// Machine facts the engine dispatches on at run time.
public enum CPUInfo {
    /// True when the CPU computes bf16 natively (AVX512-BF16 or AMX).
    public static var hasNativeBF16: Bool { csgis_cpu_has_bf16() != 0 }
    /// True when bf16 runs faster than fp32 here, so `auto` picks it: AMX, or AMD's
    /// AVX512-BF16 (Zen 4: csgis bf16 0.49x fp32's time). Intel's AVX512-BF16 without AMX
    /// multiplies bf16 pairs no faster than its two fp32 FMA units (a Xeon, 512x512: csgis
    /// bf16 1.6x lite's fp32 time and 1.2x base's, OpenVINO's bf16 1.2x and 1.75x its f32;
    /// benchmarks/README.md).
    public static var bf16IsFaster: Bool { hasNativeBF16 && (isaName.contains("amx") || csgis_cpu_is_amd() != 0) }
    /// True when oneDNN multiplies 8-bit values exactly here (AVX512-VNNI, AVX-VNNI or AMX).
    public static var hasVNNI: Bool { csgis_cpu_has_vnni() != 0 }
    /// oneDNN's instruction-set level on this CPU (e.g. "avx512_core_amx", "avx2").
    public static var isaName: String { String(cString: csgis_cpu_isa_name()) }
    /// Threads oneDNN uses by default (OpenMP's maximum).
    public static var defaultThreads: Int { Int(csgis_max_threads()) }
}
