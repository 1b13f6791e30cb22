import CSGISCore
import CSGISImageIO
import Foundation

/// One run of the filter: open the input (`ImageInput`), plan (`Plan.make`), read whole or
/// row by row as planned, smooth, write.
public struct FilterJob {
    public let options: FilterOptions
    public init(options: FilterOptions) { self.options = options }

    /// Inputs (netpbm or PNG) up to this many bytes of pixel data are read whole before any
    /// output, so a truncated or corrupt file never produces partial output, provided the
    /// whole image fits the memory budget beside the network's working set; others stream
    /// row by row (interlaced PNGs are always read whole). CSGIS_STREAM_THRESHOLD overrides it.
    public static let wholeImageBytes = 256 << 20

    /// Bytes of reading a width x height x channels image (bytesPerSample each in the file)
    /// whole: its samples, the smoothed samples and the encoded output; nil over `threshold`
    /// bytes of pixel data. The planner reads it whole when this fits the budget beside the
    /// run over its samples in memory.
    func wholeBytes(width: Int, height: Int, channels: Int, bytesPerSample: Int, threshold: Int) -> Int? {
        let (px, o1) = width.multipliedReportingOverflow(by: height)
        let (samples, o2) = px.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, samples <= Int.max / 8, samples * bytesPerSample <= threshold else { return nil }
        return samples * 2 * 2 + samples * bytesPerSample
    }

    /// Reads, smooths and writes; errors are thrown before anything is written where the
    /// input allows (see `wholeImageBytes`), and a file output is never left half-written.
    public func run() throws {
        let fd: Int32
        if options.input == "-" { fd = 0 } else {
            fd = open(options.input, O_RDONLY)
            guard fd >= 0 else { throw FilterError("cannot open '\(options.input)': \(String(cString: strerror(errno)))") }
        }
        // The header says the size, so the budget is checked before any pixel is decoded.
        let input = try ImageInput.open(ByteReader(fd: fd, closeOnDeinit: fd != 0))
        let threshold = ProcessInfo.processInfo.environment["CSGIS_STREAM_THRESHOLD"].flatMap { Int($0) } ?? FilterJob.wholeImageBytes
        let (w, h, c) = (input.width, input.height, input.channels)
        let layout = try PixelLayout.samples(width: w, height: h, channels: c, maxval: 65535)
        let file = try input.samplesInFile.map {
            InputFile(fd: $0.descriptor, offset: $0.offset, layout: try PixelLayout.samples(width: w, height: h, channels: c, maxval: $0.maxval,
                                                                                           sample: $0.maxval == 255 ? .u8 : .u16BigEndian))
        }
        // rows that cannot be streamed (an interlaced PNG) are read whole whatever the threshold
        let (t, plan) = try makePlan(layout, access: input.streamable ? LayoutRows.access(input: layout, output: layout, file: file) : .regions,
                                     whole: wholeBytes(width: w, height: h, channels: c, bytesPerSample: input.bytesPerSample,
                                                       threshold: input.streamable ? threshold : .max))
        let target = outputFormat ?? input.format
        if plan.readsWhole {
            try processWhole(t, plan, try input.readWhole(), format: target)
        } else {
            try processStream(t, plan, try input.rows(), input: input.format, format: target, file: file)
        }
    }

    /// The asked output format: --format, else the output file's extension; nil: like the input.
    var outputFormat: ImageFormat? {
        if let f = options.format { return f }
        guard options.output != "-" else { return nil }
        return FilterOptions.format(named: (options.output as NSString).pathExtension)
    }

    /// The engine and the plan for an image of `layout`'s size (`Plan.make`, asked once per
    /// run); no model is loaded when the plan passes rows through. A too small budget fails
    /// here, before any pixel is read or anything is written.
    func makePlan(_ layout: PixelLayout, access: ImageAccess, whole: Int?) throws -> (Scheduler?, Plan) {
        let strength = Float(options.strength)
        guard Plan.needsNetwork(strength: options.strength) else {
            return (nil, try Plan.make(model: nil, precision: options.precision, width: layout.width, height: layout.height,
                                       access: access, strength: strength, budget: options.memory, whole: whole))
        }
        let path = try ModelResolver.resolve(options.model, besideExecutableAt: URL(fileURLWithPath: "/proc/self/exe"))
        let t = try Scheduler(model: try CSGISModel(contentsOf: path), precision: options.precision, threads: options.threads,
                                  memoryBudget: options.memory, tileSize: options.tile)
        return (t, try t.plan(width: layout.width, height: layout.height, access: access, strength: strength, whole: whole))
    }

    var progress: ((SmoothingProgress) -> Bool)? {
        guard !options.quiet, isatty(2) != 0 else { return nil }
        return { p in
            let eta = p.remaining.map { String(format: ", %.0f s left", $0) } ?? ""
            FileHandle.standardError.write(String(format: "\rcsgis-smooth: %3.0f%%%@ ", p.fraction * 100, eta).data(using: .utf8)!)
            if p.fraction >= 1 { FileHandle.standardError.write("\n".data(using: .utf8)!) }
            return true
        }
    }

    /// Every streamed image goes through here: rows in the file's sample layout through the
    /// one row path (LayoutRows.smooth) and the scheduler; a pass-through plan (no scheduler) copies the
    /// rows through unchanged. `file`: the same rows as they lie in a seekable file.
    func smoothRows(_ scheduler: Scheduler?, _ plan: Plan, width: Int, height: Int, channels: Int, maxval: Int, file: InputFile? = nil,
                    read: @escaping (UnsafeMutablePointer<UInt16>) throws -> Void,
                    write: @escaping (UnsafePointer<UInt16>) throws -> Void) throws {
        let layout = try PixelLayout.samples(width: width, height: height, channels: channels, maxval: maxval)
        try LayoutRows.smooth(plan, scheduler, input: layout, output: layout, read: { _, count, rows in
            for r in 0..<count { try read((rows + r * layout.stride).assumingMemoryBound(to: UInt16.self)) }
        }, write: { _, count, rows in
            for r in 0..<count { try write(UnsafePointer((rows + r * layout.stride).assumingMemoryBound(to: UInt16.self))) }
        }, file: file, progress: progress)
    }

    /// A whole image: smoothed into memory (the one row path over its samples, read and
    /// written by rectangle) and encoded before the output is opened, so an error leaves
    /// nothing behind.
    func processWhole(_ scheduler: Scheduler?, _ plan: Plan, _ img: SampleImage, format: ImageFormat) throws {
        var result = img
        let layout = try PixelLayout.samples(width: img.width, height: img.height, channels: img.channels, maxval: img.maxval)
        var out = [UInt16](repeating: 0, count: img.samples.count)
        try img.samples.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try LayoutRows.smooth(plan, scheduler, image: RegionImage.memory(input: layout, src: src.baseAddress!, output: layout,
                                                                                dst: dst.baseAddress!),
                                      progress: progress)
            }
        }
        result.samples = out
        let target = formatFor(format, input: img.format)
        noteDropped(img.pngChunks, target)
        let bytes = try ImageFile.encode(result, as: target)  // fails before output exists
        let output = try Output(path: options.output)
        do {
            try bytes.withUnsafeBytes { try output.write($0) }
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
    }

    /// One line on stderr (not with --quiet) when the output format cannot hold the PNG's
    /// colour or metadata chunks.
    func noteDropped(_ chunks: PNGChunks, _ target: ImageFormat) {
        guard !chunks.isEmpty, target != .png, !options.quiet else { return }
        FileHandle.standardError.write(
            "csgis-smooth: note: \(target.name) cannot hold the PNG's \(chunks.names.joined(separator: ", ")); dropped\n".data(using: .utf8)!)
    }

    /// Keeps the input's TUPLTYPE / PNM flavour when the output is of the same family.
    func formatFor(_ target: ImageFormat, input: ImageFormat) -> ImageFormat {
        switch (target, input) {
        case (.pam, .pam): return input
        case (.pnm, .pnm): return input
        default: return target
        }
    }

    /// Reads, smooths and writes row by row: memory stays within the budget whatever the size.
    func processStream(_ scheduler: Scheduler?, _ plan: Plan, _ rows: ImageRowReader, input: ImageFormat, format: ImageFormat,
                       file: InputFile? = nil) throws {
        let target = formatFor(format, input: input)
        noteDropped(rows.chunks, target)
        let output = try Output(path: options.output)
        do {
            // The header is held until the first row is ready, so an error found in the first
            // band (a truncation at row 1, say) leaves stdout empty.
            var held: [UInt8]? = []
            let w = try ImageFile.rowWriter(format: target, width: rows.width, height: rows.height,
                                            channels: rows.channels, maxval: rows.maxval, chunks: rows.chunks, emit: { bytes in
                if held != nil { held!.append(contentsOf: bytes) } else { try output.write(bytes) }
            })
            try smoothRows(scheduler, plan, width: rows.width, height: rows.height, channels: rows.channels, maxval: rows.maxval,
                           file: file, read: rows.readRow) { row in
                if let h = held { held = nil; try h.withUnsafeBytes { try output.write($0) } }
                try w.writeRow(row)
            }
            if let h = held { held = nil; try h.withUnsafeBytes { try output.write($0) } }
            // the input's end: checked, and a PNG's chunks after the image data carried too
            let late = try rows.finish()
            (w as? PNGRowWriter)?.lateChunks = late
            try w.finish()
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
    }
}
