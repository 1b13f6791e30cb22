import CSGISCore
import CSGISImageIO
import Foundation

/// One run of the filter: sniff the input, choose how to read it, smooth, write.
public struct FilterJob {
    public let options: FilterOptions
    public init(options: FilterOptions) { self.options = options }

    /// Inputs (netpbm or PNG) up to this many bytes of pixel data are read whole before any
    /// output, so a truncated or corrupt file never produces partial output, provided the
    /// whole image fits the memory budget beside the smoother's working set; others stream
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
        let reader = ByteReader(fd: fd, closeOnDeinit: fd != 0)
        guard let b0 = try reader.next() else { throw ImageError.empty }
        guard let b1 = try reader.next() else { throw ImageError.truncated("input is 1 byte long") }

        let outFormat = outputFormat
        let threshold = ProcessInfo.processInfo.environment["CSGIS_STREAM_THRESHOLD"].flatMap { Int($0) } ?? FilterJob.wholeImageBytes
        if b0 == 0x89 && b1 == UInt8(ascii: "P") {
            // Signature and IHDR (33 bytes) say the size and whether rows can be streamed.
            let head = [b0, b1] + (try reader.readBytes(atMost: 31))
            // The budget is checked on IHDR's size before anything is decoded; interlaced
            // rows cannot be streamed, so they are read whole.
            let ihdr = try PNGHeader(head)
            let layout = try PixelLayout.samples(width: ihdr.width, height: ihdr.height, channels: ihdr.channels, maxval: 65535)
            let (t, plan) = try makePlan(layout, access: ihdr.interlaced ? .regions : LayoutRows.access(input: layout, output: layout),
                                         whole: wholeBytes(width: ihdr.width, height: ihdr.height, channels: ihdr.channels,
                                                           bytesPerSample: ihdr.bytesPerSample,
                                                           threshold: ihdr.interlaced ? .max : threshold))
            if plan.readsWhole {
                let img = try PNGCodec.decode(head + (try reader.readAll(limit: 1 << 31)))
                try processWhole(t, plan, img, format: outFormat ?? .png)
            } else {
                let pr = try PNGRowReader(input: reader, prefix: head)
                try processStream(t, plan, width: pr.width, height: pr.height, channels: pr.channels, maxval: pr.maxval, input: .png,
                                  format: outFormat ?? .png, chunks: pr.chunks, end: { try pr.finish() }) { try pr.readRow(into: $0) }
            }
            return
        }
        guard b0 == UInt8(ascii: "P") else { throw ImageError.badMagic(String(format: "first bytes are 0x%02x 0x%02x", b0, b1)) }
        let nr = try NetpbmReader(input: reader, magic: (b0, b1))
        let h = nr.header
        let target = outFormat ?? h.format
        let file = inputFile(reader, h)
        let layout = try PixelLayout.samples(width: h.width, height: h.height, channels: h.channels, maxval: 65535)
        let (t, plan) = try makePlan(layout, access: LayoutRows.access(input: layout, output: layout, file: file),
                                     whole: wholeBytes(width: h.width, height: h.height, channels: h.channels,
                                                       bytesPerSample: h.maxval > 255 ? 2 : 1, threshold: threshold))
        if plan.readsWhole {
            try processWhole(t, plan, try ImageFile.readRest(nr), format: target)
        } else {
            try processStream(t, plan, width: h.width, height: h.height, channels: h.channels, maxval: h.maxval, input: h.format,
                              format: target, file: file) { try nr.readRow(into: $0) }
        }
    }

    /// A raw netpbm file on disk, which strips read in place instead of spooling its rows:
    /// binary samples with maxval 255 or 65535 (no sample can exceed it, so none needs the
    /// reader's check) and every row present (else the row reader reports the truncation).
    func inputFile(_ reader: ByteReader, _ h: NetpbmHeader) -> InputFile? {
        guard h.binary, h.maxval == 255 || h.maxval == 65535, let offset = reader.fileOffset else { return nil }
        var st = stat()
        guard fstat(reader.descriptor, &st) == 0, st.st_mode & S_IFMT == S_IFREG,
              let layout = try? PixelLayout.samples(width: h.width, height: h.height, channels: h.channels, maxval: h.maxval,
                                                    sample: h.maxval == 255 ? .u8 : .u16BigEndian),
              case let (need, o) = layout.rowBytes.multipliedReportingOverflow(by: h.height), !o, Int(st.st_size) - offset >= need
        else { return nil }
        return InputFile(fd: reader.descriptor, offset: offset, layout: layout)
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
    func makePlan(_ layout: PixelLayout, access: ImageAccess, whole: Int?) throws -> (TiledSmoother?, Plan) {
        let strength = Float(options.strength)
        guard Plan.needsNetwork(strength: options.strength) else {
            return (nil, try Plan.make(model: nil, precision: options.precision, width: layout.width, height: layout.height,
                                       access: access, strength: strength, budget: options.memory, whole: whole))
        }
        let path = try ModelResolver.resolve(options.model, besideExecutableAt: URL(fileURLWithPath: "/proc/self/exe"))
        let t = try TiledSmoother(model: try CSGISModel(contentsOf: path), precision: options.precision, threads: options.threads,
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
    /// one row path (LayoutRows.smooth) and the scheduler; strength 0 (no smoother) copies the
    /// rows through unchanged. `file`: the same rows as they lie in a seekable file.
    func smoothRows(_ smoother: TiledSmoother?, _ plan: Plan, width: Int, height: Int, channels: Int, maxval: Int, file: InputFile? = nil,
                    read: @escaping (UnsafeMutablePointer<UInt16>) throws -> Void,
                    write: @escaping (UnsafePointer<UInt16>) throws -> Void) throws {
        let layout = try PixelLayout.samples(width: width, height: height, channels: channels, maxval: maxval)
        try LayoutRows.smooth(plan, smoother, input: layout, output: layout, read: { _, count, rows in
            for r in 0..<count { try read((rows + r * layout.stride).assumingMemoryBound(to: UInt16.self)) }
        }, write: { _, count, rows in
            for r in 0..<count { try write(UnsafePointer((rows + r * layout.stride).assumingMemoryBound(to: UInt16.self))) }
        }, file: file, progress: progress)
    }

    /// A whole image: smoothed into memory (the one row path over its samples, read and
    /// written by rectangle) and encoded before the output is opened, so an error leaves
    /// nothing behind.
    func processWhole(_ smoother: TiledSmoother?, _ plan: Plan, _ img: SampleImage, format: ImageFormat) throws {
        var result = img
        let layout = try PixelLayout.samples(width: img.width, height: img.height, channels: img.channels, maxval: img.maxval)
        var out = [UInt16](repeating: 0, count: img.samples.count)
        try img.samples.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try LayoutRows.smooth(plan, smoother, image: RegionImage.memory(input: layout, src: src.baseAddress!, output: layout,
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
    func processStream(_ smoother: TiledSmoother?, _ plan: Plan, width: Int, height: Int, channels: Int, maxval: Int, input: ImageFormat, format: ImageFormat,
                       chunks: PNGChunks = PNGChunks(), end: (() throws -> PNGChunks)? = nil, file: InputFile? = nil,
                       readRow: @escaping (UnsafeMutablePointer<UInt16>) throws -> Void) throws {
        let target = formatFor(format, input: input)
        noteDropped(chunks, target)
        let output = try Output(path: options.output)
        do {
            // The header is held until the first row is ready, so an error found in the first
            // band (a truncation at row 1, say) leaves stdout empty.
            var held: [UInt8]? = []
            let w = try ImageFile.rowWriter(format: target, width: width, height: height,
                                            channels: channels, maxval: maxval, chunks: chunks, emit: { bytes in
                if held != nil { held!.append(contentsOf: bytes) } else { try output.write(bytes) }
            })
            try smoothRows(smoother, plan, width: width, height: height, channels: channels, maxval: maxval, file: file, read: readRow) { row in
                if let h = held { held = nil; try h.withUnsafeBytes { try output.write($0) } }
                try w.writeRow(row)
            }
            if let h = held { held = nil; try h.withUnsafeBytes { try output.write($0) } }
            // a streamed PNG's end: checked, and its chunks after the image data carried too
            if let end {
                let late = try end()
                (w as? PNGRowWriter)?.lateChunks = late
            }
            try w.finish()
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
    }
}
