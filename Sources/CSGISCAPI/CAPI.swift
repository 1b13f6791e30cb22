import CSGISCHeader
import CSGISCore
import Foundation

// The C ABI of libcsgis around its centre, the context (see csgis.h). Swift names differ
// from the C symbols so they do not collide with the imported declarations.

// MARK: parameters and images

@_cdecl("csgis_context_default_params")
public func cContextDefaultParams() -> csgis_context_params {
    csgis_context_params(precision: CSGIS_PRECISION_AUTO, threads: 0)
}

@_cdecl("csgis_default_params")
public func cDefaultParams() -> csgis_params {
    csgis_params(strength: 1, memory_budget: 0, tile_size: 0, progress: nil, progress_user_data: nil)
}

@_cdecl("csgis_image_packed")
public func cImagePacked(_ width: UInt32, _ height: UInt32, _ channels: UInt32, _ type: csgis_sample_type) -> csgis_image {
    // grey+alpha and RGBA carry alpha last; an odd channel count (a descriptor the calls
    // will refuse) gets none
    csgis_image(width: width, height: height, channels: channels, type: type, stride: 0,
                alpha_channel: channels == 2 || channels == 4 ? Int32(channels) - 1 : -1)
}

/// A validated image layout (PixelLayout: the core's one sample conversion).
private func layout(_ d: csgis_image, _ what: String) throws -> PixelLayout {
    let sample: PixelLayout.Sample
    switch d.type {
    case CSGIS_U8: sample = .u8
    case CSGIS_U16: sample = .u16
    case CSGIS_F32: sample = .f32
    default: throw CSGISError.invalidImage("\(what): unknown sample type")
    }
    return try PixelLayout(width: Int(d.width), height: Int(d.height), channels: Int(d.channels), alpha: Int(d.alpha_channel),
                           sample: sample, stride: Int(exactly: d.stride) ?? Int.max, what: what)
}

// MARK: contexts

private let precisions: [(csgis_precision, Precision)] = [(CSGIS_PRECISION_AUTO, .auto), (CSGIS_PRECISION_FP32, .fp32), (CSGIS_PRECISION_INT8, .int8),
                                                          (CSGIS_PRECISION_BF16, .bf16)]

/// A model's engine kept between calls (csgis_context); `busy` turns a second call during
/// a run (another thread, or a callback calling back in) into CSGIS_ERR_BUSY.
final class Context {
    let engine: Engine
    let busy = NSLock()
    init(_ e: Engine) { engine = e }
}

@_cdecl("csgis_context_new")
public func cContextNew(_ model: OpaquePointer?, _ params: UnsafePointer<csgis_context_params>?,
                        _ out: UnsafeMutablePointer<OpaquePointer?>?) -> csgis_status {
    guard let out else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "csgis_context_new: out is NULL") }
    out.pointee = nil
    guard let m = modelFrom(model) else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "csgis_context_new: NULL model") }
    let p = params?.pointee ?? cContextDefaultParams()
    guard let precision = precisions.first(where: { $0.0 == p.precision })?.1 else {
        return fail(CSGIS_ERR_INVALID_ARGUMENT, "context params: unknown precision \(p.precision.rawValue)")
    }
    do {  // the engine checks the thread count (negative, or more than 4 x the cores)
        out.pointee = handle(Context(try Engine(model: m, precision: precision, threads: Int(p.threads))))
        return CSGIS_OK
    } catch { return status(for: error) }
}

@_cdecl("csgis_context_free")
public func cContextFree(_ context: OpaquePointer?) { release(context, Context.self) }

@_cdecl("csgis_context_precision")
public func cContextPrecision(_ context: OpaquePointer?) -> csgis_precision {
    guard let c = object(context, Context.self) else { return CSGIS_PRECISION_AUTO }
    return precisions.first(where: { $0.1 == c.engine.precision })?.0 ?? CSGIS_PRECISION_AUTO
}

@_cdecl("csgis_context_input_rect")
public func cContextInputRect(_ context: OpaquePointer?, _ width: UInt32, _ height: UInt32, _ x: UInt32, _ y: UInt32, _ w: UInt32, _ h: UInt32,
                              _ ix: UnsafeMutablePointer<UInt32>?, _ iy: UnsafeMutablePointer<UInt32>?,
                              _ iw: UnsafeMutablePointer<UInt32>?, _ ih: UnsafeMutablePointer<UInt32>?) -> csgis_status {
    guard let c = object(context, Context.self), let ix, let iy, let iw, let ih else {
        return fail(CSGIS_ERR_INVALID_ARGUMENT, "csgis_context_input_rect: NULL argument")
    }
    let (W, H, X, Y, RW, RH) = (Int(width), Int(height), Int(x), Int(y), Int(w), Int(h))
    guard RW > 0, RH > 0, X + RW <= W, Y + RH <= H else {
        return fail(CSGIS_ERR_INVALID_ARGUMENT, "csgis_context_input_rect: the \(w)x\(h) rectangle at (\(x), \(y)) is empty or not inside the \(width)x\(height) image")
    }
    let r = c.engine.inputRect(for: (X, Y, RW, RH), width: W, height: H)
    ix.pointee = UInt32(r.x); iy.pointee = UInt32(r.y); iw.pointee = UInt32(r.width); ih.pointee = UInt32(r.height)
    return CSGIS_OK
}

// MARK: one call

/// The frame of every smoothing call: the context taken for the call (or CSGIS_ERR_BUSY),
/// the per-call parameters checked before anything is allocated (strength and budget
/// against the image by the planner), errors turned into codes.
private func call(_ name: String, _ context: OpaquePointer?, _ params: UnsafePointer<csgis_params>?, _ present: Bool,
                  _ body: (Scheduler, csgis_params) throws -> Void) -> csgis_status {
    guard let c = object(context, Context.self), present else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "\(name): NULL argument") }
    guard c.busy.try() else { return fail(CSGIS_ERR_BUSY, "\(name): the context is running another call; use one context per thread") }
    defer { c.busy.unlock() }
    let p = params?.pointee ?? cDefaultParams()
    guard p.tile_size >= 0 else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "params: tile_size \(p.tile_size) is negative") }
    // size_t arrives as Int: a budget above INT64_MAX reads as negative
    guard p.memory_budget >= 0 else {
        return fail(CSGIS_ERR_INVALID_ARGUMENT, "params: memory_budget \(UInt(bitPattern: p.memory_budget)) is larger than any machine's memory")
    }
    do {
        try body(Scheduler(engine: c.engine, memoryBudget: p.memory_budget == 0 ? nil : p.memory_budget,
                           tileSize: p.tile_size == 0 ? nil : Int(p.tile_size)), p)
        return CSGIS_OK
    } catch { return status(for: error) }
}

/// The progress callback, called as rows finish and, at most every 0.1 s, between layers
/// (with the latest figures): its answer is the one way to cancel.
private func callbacks(_ p: csgis_params) -> (((SmoothingProgress) -> Bool)?, () -> Bool) {
    guard let fn = p.progress else { return (nil, { false }) }
    final class Latest { var fraction: Float = 0, remaining = -1.0, lastCall = Date() }
    let latest = Latest(), user = p.progress_user_data
    let progress: (SmoothingProgress) -> Bool = { s in
        latest.fraction = Float(s.fraction); latest.remaining = s.remaining ?? -1; latest.lastCall = Date()
        return fn(latest.fraction, latest.remaining, user) == 0
    }
    let stop: () -> Bool = {
        guard Date().timeIntervalSince(latest.lastCall) >= 0.1 else { return false }
        latest.lastCall = Date()
        return fn(latest.fraction, latest.remaining, user) != 0
    }
    return (progress, stop)
}

/// An image read and written by rectangle (the caller's buffers or region callbacks):
/// nothing is held per row, rows are read where they lie. `image` is made once the plan
/// has accepted the budget (an in-place copy is allocated there); `reserved`: bytes it
/// holds beside the run.
private func runRegions(_ t: Scheduler, _ p: csgis_params, _ layout: PixelLayout, reserved: Plan.Reservation? = nil,
                        image: () throws -> RegionImage) throws {
    let plan = try t.plan(width: layout.width, height: layout.height, access: .regions, strength: p.strength, reserved: reserved)
    let region = try image()
    let (progress, stop) = callbacks(p)
    try LayoutRows.smooth(plan, t, image: region, progress: progress, shouldStop: stop)
}

// MARK: the three ways in

@_cdecl("csgis_smooth")
public func cSmooth(_ context: OpaquePointer?, _ params: UnsafePointer<csgis_params>?, _ srcDesc: UnsafePointer<csgis_image>?,
                    _ src: UnsafeRawPointer?, _ dstDesc: UnsafePointer<csgis_image>?, _ dst: UnsafeMutableRawPointer?) -> csgis_status {
    call("csgis_smooth", context, params, srcDesc != nil && src != nil && dstDesc != nil && dst != nil) { t, p in
        let src = src!, dst = dst!
        let s = try layout(srcDesc!.pointee, "source"), d = try layout(dstDesc!.pointee, "destination")
        guard s.width == d.width, s.height == d.height, s.channels == d.channels, s.alpha == d.alpha else {
            throw CSGISError.invalidImage("destination must have the source's size, channels and alpha position")
        }
        // The whole image is a stream over the caller's memory, so it runs within the budget
        // whatever its size. In place (src and dst overlap), the result is held in a copy of
        // dst's size and written only on success, so a failure leaves the image untouched.
        let sSpan = s.stride * (s.height - 1) + s.rowBytes, dSpan = d.stride * (d.height - 1) + d.rowBytes
        let overlap = UnsafeRawPointer(dst) < src + sSpan && src < UnsafeRawPointer(dst) + dSpan
        // the copy counts against the budget: the rest is the run's
        let reserved = overlap ? Plan.Reservation(bytes: dSpan, refusal: "in-place csgis_smooth holds a \(dSpan)-byte copy of the result, "
                                                  + "over the memory budget; use separate buffers or csgis_smooth_stream") : nil
        var scratch: UnsafeMutableRawPointer?
        defer { free(scratch) }
        // at strength 0 the rows are copied through bit for bit (the row path's pass-through)
        try runRegions(t, p, s, reserved: reserved) {
            if overlap {
                guard let m = malloc(dSpan) else { throw CSGISError.outOfMemory("cannot allocate the \(dSpan)-byte in-place copy") }
                scratch = m
            }
            return RegionImage.memory(input: s, src: src, output: d, dst: scratch ?? dst)
        }
        // rows only: the bytes between them (stride padding) are the caller's and stay as they were
        if let scratch { for y in 0..<d.height { (dst + y * d.stride).copyMemory(from: scratch + y * d.stride, byteCount: d.rowBytes) } }
    }
}

@_cdecl("csgis_smooth_stream")
public func cSmoothStream(_ context: OpaquePointer?, _ params: UnsafePointer<csgis_params>?, _ desc: UnsafePointer<csgis_image>?,
                          _ read: csgis_read_rows_fn?, _ write: csgis_write_rows_fn?, _ user: UnsafeMutableRawPointer?) -> csgis_status {
    call("csgis_smooth_stream", context, params, desc != nil && read != nil && write != nil) { t, p in
        let l = try layout(desc!.pointee, "image")
        func check(_ what: String, _ rc: Int32, _ first: Int, _ count: Int) throws {
            guard rc == 0 else { throw CallbackFailure(description: "\(what) returned \(rc) for rows \(first)..<\(first + count)") }
        }
        // the scheduler's one row path
        let plan = try t.plan(width: l.width, height: l.height, access: LayoutRows.access(input: l, output: l), strength: p.strength)
        let (progress, stop) = callbacks(p)
        try LayoutRows.smooth(plan, t, input: l, output: l, read: { first, count, rows in
            try check("read_rows", read!(UInt32(first), UInt32(count), rows, user), first, count)
        }, write: { first, count, rows in
            try check("write_rows", write!(UInt32(first), UInt32(count), rows, user), first, count)
        }, progress: progress, shouldStop: stop)
    }
}

@_cdecl("csgis_smooth_regions")
public func cSmoothRegions(_ context: OpaquePointer?, _ params: UnsafePointer<csgis_params>?, _ desc: UnsafePointer<csgis_image>?,
                           _ read: csgis_read_region_fn?, _ write: csgis_write_region_fn?, _ user: UnsafeMutableRawPointer?) -> csgis_status {
    call("csgis_smooth_regions", context, params, desc != nil && read != nil && write != nil) { t, p in
        let l = try layout(desc!.pointee, "image")
        func check(_ what: String, _ rc: Int32, _ x: Int, _ y: Int, _ w: Int, _ h: Int) throws {
            guard rc == 0 else { throw CallbackFailure(description: "\(what) returned \(rc) for \(w)x\(h) at (\(x), \(y))") }
        }
        try runRegions(t, p, l) {
            RegionImage(input: l, output: l, read: { x, y, w, h, px, s in
                try check("read_region", read!(UInt32(x), UInt32(y), UInt32(w), UInt32(h), px, s, user), x, y, w, h)
            }, write: { x, y, w, h, px, s in
                try check("write_region", write!(UInt32(x), UInt32(y), UInt32(w), UInt32(h), px, s, user), x, y, w, h)
            })
        }
    }
}
