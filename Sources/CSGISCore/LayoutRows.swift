/// The one row adapter between a front end and the scheduler: reads rows in `input`'s layout
/// through `read`, hands RGB floats to the network, keeps each input row until its result is
/// written (so alpha is restored from it, or the row passes through unchanged) and writes
/// rows in `output`'s layout through `write`. The filter's streamed rows (netpbm/PNG) and
/// `csgis_smooth_stream` (the caller's callbacks) use it; images read by rectangle (the
/// filter's whole images, `csgis_smooth`'s buffers, region callbacks) pass through here only
/// to be copied through at strength 0 (`smooth(_:_:image:)`).
public final class LayoutRows: RowSource, RowSink {
    /// Moves `count` rows starting at row `first`, `stride` bytes apart, into or out of `rows`.
    public typealias RowTransfer = (_ first: Int, _ count: Int, _ rows: UnsafeMutableRawPointer) throws -> Void
    public let input: PixelLayout, output: PixelLayout
    private let read: RowTransfer, write: RowTransfer
    private var readRow = 0, writtenRow = 0
    private var pending = RowsInFlight<[UInt8]>()
    /// Strength 0 with one layout: rows are copied unchanged, bit for bit.
    private let passThrough: Bool

    public init(input: PixelLayout, output: PixelLayout, passThrough: Bool, read: @escaping RowTransfer, write: @escaping RowTransfer) {
        self.input = input; self.output = output; self.read = read; self.write = write
        self.passThrough = passThrough && input.sameSamples(as: output) && input.stride == output.stride
    }

    /// Bytes held per row in flight (the kept input row, the output row being written), for
    /// the scheduler's budget: `Scheduler(rowOverhead:)`.
    public static func rowOverhead(input: PixelLayout, output: PixelLayout) -> Int { input.stride + output.stride + 64 }

    public func readRows(_ count: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        var raw = [UInt8](repeating: 0, count: input.stride * count)
        try raw.withUnsafeMutableBytes { try read(readRow, count, $0.baseAddress!) }
        for r in 0..<count {
            let row = Array(raw[(r * input.stride)..<(r * input.stride + input.stride)])
            row.withUnsafeBytes { input.toRGB($0.baseAddress!, buffer + r * input.width * 3) }
            pending.push(row)
        }
        readRow += count
    }

    public func writeRows(_ count: Int, from buffer: UnsafePointer<Float>) throws {
        var raw = [UInt8](repeating: 0, count: output.stride * count)
        raw.withUnsafeMutableBytes { out in
            for r in 0..<count {
                let src = pending.pop()
                src.withUnsafeBytes { s in
                    if passThrough {
                        (out.baseAddress! + r * output.stride).copyMemory(from: s.baseAddress!, byteCount: output.stride)
                    } else {
                        output.fromRGB(buffer + r * output.width * 3, out.baseAddress! + r * output.stride, alphaFrom: s.baseAddress!, input)
                    }
                }
            }
        }
        try raw.withUnsafeMutableBytes { try write(writtenRow, count, $0.baseAddress!) }
        writtenRow += count
    }
}

extension LayoutRows {
    /// How rows in `input`'s layout, results in `output`'s, reach the planner: the bytes held
    /// per row in flight, and whether a spool could take them (`file`: the input's rows
    /// already lie in that file, so only the results would be spooled).
    public static func access(input: PixelLayout, output: PixelLayout, file: InputFile? = nil) -> ImageAccess {
        .rows(rowOverhead: rowOverhead(input: input, output: output),
              spool: SpooledImage.hasRoom(input: input, output: output, inputInPlace: file != nil))
    }

    /// The one row path, for the filter's streams and the C API's row callbacks: rows in
    /// `input`'s layout from `read`, results in `output`'s layout to `write`, in order, as
    /// `plan` says (made with `access(input:output:file:)`). Passing through copies rows
    /// unchanged (bit for bit when the layouts agree); spooled strips read every row into a
    /// temporary file (`SpooledImage`) before the first is written.
    /// `file`: the same pixels also lie in a seekable file, which the strips then read in
    /// place instead of spooling the rows (only the results are spooled).
    /// `scheduler`: nil only for a plan that passes through.
    public static func smooth(_ plan: Plan, _ scheduler: Scheduler?, input: PixelLayout, output: PixelLayout,
                              read: @escaping RowTransfer, write: @escaping RowTransfer, file: InputFile? = nil,
                              progress: ((SmoothingProgress) -> Bool)? = nil, shouldStop: @escaping () -> Bool = { false }) throws {
        guard let t = scheduler, plan.mode != .passThrough else {
            let rows = LayoutRows(input: input, output: output, passThrough: true, read: read, write: write)
            return try Scheduler.passThrough(width: input.width, height: input.height, source: rows, sink: rows)
        }
        guard plan.mode == .spooledStrips else {
            let rows = LayoutRows(input: input, output: output, passThrough: false, read: read, write: write)
            return try t.run(plan, source: rows, sink: rows, progress: progress, shouldStop: shouldStop)
        }
        if let f = file, f.layout.width != input.width || f.layout.height != input.height || f.layout.channels != input.channels
            || f.layout.alpha != input.alpha {
            throw CSGISError.invalidArgument("the input file's layout does not match the rows'")
        }
        let spool = try file.map { try SpooledImage(input: $0.layout, output: output, file: ($0.fd, $0.offset)) }
            ?? SpooledImage(input: input, output: output)
        // one fraction over reading, running and writing (the rows are all read first)
        let phases = SpoolProgress(progress)
        if !spool.inputInPlace { try spool.fill(read, progress: phases.filling, shouldStop: shouldStop) }
        try t.run(plan, image: spool.image, progress: progress.map { _ in phases.running }, shouldStop: shouldStop)
        try spool.drain(write, progress: phases.draining, shouldStop: shouldStop)
    }

    /// The one row path over an image read and written by rectangle (the caller's memory or
    /// region callbacks), as `plan` says (made with `.regions` access): the scheduler runs over
    /// it directly, and the whole rows of a pass-through are rectangles of the full width.
    public static func smooth(_ plan: Plan, _ scheduler: Scheduler?, image: RegionImage,
                              progress: ((SmoothingProgress) -> Bool)? = nil, shouldStop: @escaping () -> Bool = { false }) throws {
        guard let t = scheduler, plan.mode != .passThrough else {
            let i = image.input, o = image.output
            return try smooth(plan, nil, input: i, output: o,
                              read: { first, count, rows in try image.read(0, first, i.width, count, rows, i.stride) },
                              write: { first, count, rows in try image.write(0, first, o.width, count, rows, o.stride) })
        }
        try t.run(plan, image: image, progress: progress, shouldStop: shouldStop)
    }
}

/// An input's packed rows as they lie in a seekable file (a raw netpbm file): `layout` from
/// byte `offset` on. The descriptor stays the caller's; the file must hold every row.
public struct InputFile {
    public let fd: Int32, offset: Int, layout: PixelLayout
    public init(fd: Int32, offset: Int, layout: PixelLayout) { self.fd = fd; self.offset = offset; self.layout = layout }
}
