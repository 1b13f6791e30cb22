import CSGISCHeader
import CSGISCore
import Foundation

// The C ABI of libcsgis (see Sources/CSGISCHeader/include/csgis.h). Swift names differ from
// the C symbols so they do not collide with the imported declarations.

// MARK: options and images

@_cdecl("csgis_default_options")
public func cDefaultOptions() -> csgis_options {
    csgis_options(strength: 1, precision: CSGIS_PRECISION_AUTO, threads: 0, memory_budget: 0, tile_size: 0,
                  progress: nil, progress_user_data: nil)
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

/// Checks the engine options before anything is allocated -> the scheduler for them, on the
/// context's engine when there is one (strength and budget are checked by the planner).
private func scheduler(_ model: CSGISModel, _ o: csgis_options, context: Context? = nil) throws -> Scheduler {
    guard let p = Precision.allCases.first(where: { [.auto: CSGIS_PRECISION_AUTO, .fp32: CSGIS_PRECISION_FP32, .bf16: CSGIS_PRECISION_BF16][$0] == o.precision }) else {
        throw CSGISError.invalidArgument("options: unknown precision \(o.precision.rawValue)")
    }
    guard o.threads >= 0 else { throw CSGISError.invalidArgument("options: threads \(o.threads) is negative") }
    guard o.tile_size >= 0 else { throw CSGISError.invalidArgument("options: tile_size \(o.tile_size) is negative") }
    // size_t arrives as Int: a budget above INT64_MAX reads as negative
    guard o.memory_budget >= 0 else {
        throw CSGISError.invalidArgument("options: memory_budget \(UInt(bitPattern: o.memory_budget)) is larger than any machine's memory")
    }
    let engine: Engine
    if let c = context {
        guard try p.resolved() == c.engine.precision, Int(o.threads) == c.engine.threads else {
            throw CSGISError.invalidArgument("options: precision and threads must be those the context was made with")
        }
        engine = c.engine
    } else {
        engine = try Engine(model: model, precision: p, threads: Int(o.threads))
    }
    return Scheduler(engine: engine, memoryBudget: o.memory_budget == 0 ? nil : Int(o.memory_budget),
                         tileSize: o.tile_size == 0 ? nil : Int(o.tile_size))
}

// MARK: contexts

/// A model's engine kept between calls (csgis_context).
final class Context {
    let engine: Engine
    init(_ e: Engine) { engine = e }
}

private func contextFrom(_ p: OpaquePointer?) -> Context? { object(p, Context.self) }

@_cdecl("csgis_context_new")
public func cContextNew(_ model: OpaquePointer?, _ options: UnsafePointer<csgis_options>?,
                        _ out: UnsafeMutablePointer<OpaquePointer?>?) -> csgis_status {
    guard let out else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "csgis_context_new: out is NULL") }
    out.pointee = nil
    guard let m = modelFrom(model) else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "csgis_context_new: NULL model") }
    do {
        let t = try scheduler(m, options?.pointee ?? cDefaultOptions())
        out.pointee = handle(Context(t.engine))
        return CSGIS_OK
    } catch { return status(for: error) }
}

@_cdecl("csgis_context_free")
public func cContextFree(_ context: OpaquePointer?) { release(context, Context.self) }

/// The progress callback, called as rows finish and, at most every 0.1 s, between layers
/// (with the latest figures): its answer is the one way to cancel.
private func callbacks(_ o: csgis_options) -> (((SmoothingProgress) -> Bool)?, () -> Bool) {
    guard let fn = o.progress else { return (nil, { false }) }
    final class Latest { var fraction: Float = 0, remaining = -1.0, lastCall = Date() }
    let latest = Latest(), user = o.progress_user_data
    let progress: (SmoothingProgress) -> Bool = { p in
        latest.fraction = Float(p.fraction); latest.remaining = p.remaining ?? -1; latest.lastCall = Date()
        return fn(latest.fraction, latest.remaining, user) == 0
    }
    let stop: () -> Bool = {
        guard Date().timeIntervalSince(latest.lastCall) >= 0.1 else { return false }
        latest.lastCall = Date()
        return fn(latest.fraction, latest.remaining, user) != 0
    }
    return (progress, stop)
}

// MARK: smoothing

/// One run of a row entry point: validated options, then rows through the scheduler's one
/// row path. `read` and `write` return the caller's status: non-zero stops the run
/// (CSGIS_ERR_CALLBACK).
private func smoothRows(_ m: CSGISModel, _ context: Context?, _ o: csgis_options, input: PixelLayout, output: PixelLayout,
                        read: @escaping (Int, Int, UnsafeMutableRawPointer) -> Int32,
                        write: @escaping (Int, Int, UnsafeMutableRawPointer) -> Int32) throws {
    let t = try scheduler(m, o, context: context)
    let plan = try t.plan(width: input.width, height: input.height, access: LayoutRows.access(input: input, output: output),
                          strength: o.strength)
    let (progress, stop) = callbacks(o)
    try LayoutRows.smooth(plan, t, input: input, output: output, read: { first, count, rows in
        let rc = read(first, count, rows)
        guard rc == 0 else { throw CallbackFailure(description: "read_rows returned \(rc) for rows \(first)..<\(first + count)") }
    }, write: { first, count, rows in
        let rc = write(first, count, rows)
        guard rc == 0 else { throw CallbackFailure(description: "write_rows returned \(rc) for rows \(first)..<\(first + count)") }
    }, progress: progress, shouldStop: stop)
}

/// One run of an entry point over an image read and written by rectangle (the caller's
/// buffers or region callbacks): nothing is held per row, rows are read where they lie.
/// `image` is made once the plan has accepted the budget (an in-place copy is allocated
/// there); `reserved`: bytes it holds beside the run.
private func smoothRegions(_ m: CSGISModel, _ context: Context?, _ o: csgis_options, _ layout: PixelLayout,
                           reserved: Plan.Reservation? = nil, image: () throws -> RegionImage) throws {
    let t = try scheduler(m, o, context: context)
    let plan = try t.plan(width: layout.width, height: layout.height, access: .regions, strength: o.strength, reserved: reserved)
    let region = try image()
    let (progress, stop) = callbacks(o)
    try LayoutRows.smooth(plan, t, image: region, progress: progress, shouldStop: stop)
}

@_cdecl("csgis_smooth")
public func cSmooth(_ model: OpaquePointer?, _ options: UnsafePointer<csgis_options>?, _ srcDesc: UnsafePointer<csgis_image>?,
                    _ src: UnsafeRawPointer?, _ dstDesc: UnsafePointer<csgis_image>?, _ dst: UnsafeMutableRawPointer?) -> csgis_status {
    smoothImage("csgis_smooth", modelFrom(model), nil, options, srcDesc, src, dstDesc, dst)
}

@_cdecl("csgis_context_smooth")
public func cContextSmooth(_ context: OpaquePointer?, _ options: UnsafePointer<csgis_options>?, _ srcDesc: UnsafePointer<csgis_image>?,
                           _ src: UnsafeRawPointer?, _ dstDesc: UnsafePointer<csgis_image>?, _ dst: UnsafeMutableRawPointer?) -> csgis_status {
    let c = contextFrom(context)
    return smoothImage("csgis_context_smooth", c?.engine.model, c, options, srcDesc, src, dstDesc, dst)
}

private func smoothImage(_ name: String, _ model: CSGISModel?, _ context: Context?, _ options: UnsafePointer<csgis_options>?,
                         _ srcDesc: UnsafePointer<csgis_image>?, _ src: UnsafeRawPointer?,
                         _ dstDesc: UnsafePointer<csgis_image>?, _ dst: UnsafeMutableRawPointer?) -> csgis_status {
    guard let m = model, let srcDesc, let src, let dstDesc, let dst else {
        return fail(CSGIS_ERR_INVALID_ARGUMENT, "\(name): NULL argument")
    }
    do {
        let s = try layout(srcDesc.pointee, "source"), d = try layout(dstDesc.pointee, "destination")
        guard s.width == d.width, s.height == d.height, s.channels == d.channels, s.alpha == d.alpha else {
            throw CSGISError.invalidImage("destination must have the source's size, channels and alpha position")
        }
        // The whole image is a stream over the caller's memory, so it runs within the budget
        // whatever its size. In place (src and dst overlap), the result is held in a copy of
        // dst's size and written only on success, so a failure leaves the image untouched.
        let sRow = s.rowBytes, dRow = d.rowBytes
        let sSpan = s.stride * (s.height - 1) + sRow, dSpan = d.stride * (d.height - 1) + dRow
        let overlap = UnsafeRawPointer(dst) < src + sSpan && src < UnsafeRawPointer(dst) + dSpan
        let o = options?.pointee ?? cDefaultOptions()
        // the copy counts against the budget: the rest is the run's
        let reserved = overlap ? Plan.Reservation(bytes: dSpan, refusal: "in-place csgis_smooth holds a \(dSpan)-byte copy of the result, "
                                                  + "over the memory budget; use separate buffers or csgis_smooth_stream") : nil
        var scratch: UnsafeMutableRawPointer?
        defer { free(scratch) }
        // at strength 0 the rows are copied through bit for bit (the row path's pass-through)
        try smoothRegions(m, context, o, s, reserved: reserved) {
            if overlap {
                guard let p = malloc(dSpan) else { throw CSGISError.outOfMemory("cannot allocate the \(dSpan)-byte in-place copy") }
                scratch = p
            }
            return RegionImage.memory(input: s, src: src, output: d, dst: scratch ?? dst)
        }
        // rows only: the bytes between them (stride padding) are the caller's and stay as they were
        if let scratch { for y in 0..<d.height { (dst + y * d.stride).copyMemory(from: scratch + y * d.stride, byteCount: dRow) } }
        return CSGIS_OK
    } catch { return status(for: error) }
}

@_cdecl("csgis_smooth_stream")
public func cSmoothStream(_ model: OpaquePointer?, _ options: UnsafePointer<csgis_options>?, _ desc: UnsafePointer<csgis_image>?,
                          _ read: csgis_read_rows_fn?, _ write: csgis_write_rows_fn?, _ user: UnsafeMutableRawPointer?) -> csgis_status {
    smoothStream("csgis_smooth_stream", modelFrom(model), nil, options, desc, read, write, user)
}

@_cdecl("csgis_context_smooth_stream")
public func cContextSmoothStream(_ context: OpaquePointer?, _ options: UnsafePointer<csgis_options>?, _ desc: UnsafePointer<csgis_image>?,
                                 _ read: csgis_read_rows_fn?, _ write: csgis_write_rows_fn?, _ user: UnsafeMutableRawPointer?) -> csgis_status {
    let c = contextFrom(context)
    return smoothStream("csgis_context_smooth_stream", c?.engine.model, c, options, desc, read, write, user)
}

private func smoothStream(_ name: String, _ model: CSGISModel?, _ context: Context?, _ options: UnsafePointer<csgis_options>?,
                          _ desc: UnsafePointer<csgis_image>?, _ read: csgis_read_rows_fn?, _ write: csgis_write_rows_fn?,
                          _ user: UnsafeMutableRawPointer?) -> csgis_status {
    withCallbacks(name, model, desc, read != nil && write != nil) { m, l in
        try smoothRows(m, context, options?.pointee ?? cDefaultOptions(), input: l, output: l,
                       read: { first, count, rows in read!(UInt32(first), UInt32(count), rows, user) },
                       write: { first, count, rows in write!(UInt32(first), UInt32(count), rows, user) })
    }
}

/// The frame of the callback entry points: the model, image and callbacks checked (`present`:
/// the callbacks are not NULL), the image's layout validated, errors turned into codes.
private func withCallbacks(_ name: String, _ model: CSGISModel?, _ desc: UnsafePointer<csgis_image>?, _ present: Bool,
                           _ body: (CSGISModel, PixelLayout) throws -> Void) -> csgis_status {
    guard let m = model, let desc, present else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "\(name): NULL argument") }
    do {
        try body(m, try layout(desc.pointee, "image"))
        return CSGIS_OK
    } catch { return status(for: error) }
}

@_cdecl("csgis_smooth_regions")
public func cSmoothRegions(_ model: OpaquePointer?, _ options: UnsafePointer<csgis_options>?, _ desc: UnsafePointer<csgis_image>?,
                           _ read: csgis_read_region_fn?, _ write: csgis_write_region_fn?, _ user: UnsafeMutableRawPointer?) -> csgis_status {
    smoothRegions("csgis_smooth_regions", modelFrom(model), nil, options, desc, read, write, user)
}

@_cdecl("csgis_context_smooth_regions")
public func cContextSmoothRegions(_ context: OpaquePointer?, _ options: UnsafePointer<csgis_options>?, _ desc: UnsafePointer<csgis_image>?,
                                  _ read: csgis_read_region_fn?, _ write: csgis_write_region_fn?, _ user: UnsafeMutableRawPointer?) -> csgis_status {
    let c = contextFrom(context)
    return smoothRegions("csgis_context_smooth_regions", c?.engine.model, c, options, desc, read, write, user)
}

/// The caller's rectangles as the scheduler's random-access image.
private func smoothRegions(_ name: String, _ model: CSGISModel?, _ context: Context?, _ options: UnsafePointer<csgis_options>?,
                           _ desc: UnsafePointer<csgis_image>?, _ read: csgis_read_region_fn?, _ write: csgis_write_region_fn?,
                           _ user: UnsafeMutableRawPointer?) -> csgis_status {
    withCallbacks(name, model, desc, read != nil && write != nil) { m, l in
        func call(_ what: String, _ rc: Int32, _ x: Int, _ y: Int, _ w: Int, _ h: Int) throws {
            guard rc == 0 else { throw CallbackFailure(description: "\(what) returned \(rc) for \(w)x\(h) at (\(x), \(y))") }
        }
        try smoothRegions(m, context, options?.pointee ?? cDefaultOptions(), l) {
            RegionImage(input: l, output: l, read: { x, y, w, h, p, s in
                try call("read_region", read!(UInt32(x), UInt32(y), UInt32(w), UInt32(h), p, s, user), x, y, w, h)
            }, write: { x, y, w, h, p, s in
                try call("write_region", write!(UInt32(x), UInt32(y), UInt32(w), UInt32(h), p, s, user), x, y, w, h)
            })
        }
    }
}
