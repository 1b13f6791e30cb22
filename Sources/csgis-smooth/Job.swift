import CSGISCore
import CSGISImageIO
import Foundation

/// One run of the filter: read, smooth, write.
struct Job {
    let options: CSGISSmooth
    /// Netpbm inputs up to this many data bytes are read whole before any output, so a
    /// truncated or corrupt file never produces partial output; larger ones stream.
    static let wholeImageBytes = 256 << 20

    func run() throws {
        let fd: Int32
        if options.input == "-" { fd = 0 } else {
            fd = open(options.input, O_RDONLY)
            guard fd >= 0 else { throw CLIError("cannot open '\(options.input)': \(String(cString: strerror(errno)))") }
        }
        let reader = ByteReader(fd: fd, closeOnDeinit: fd != 0)
        guard let b0 = try reader.next() else { throw ImageError.empty }
        guard let b1 = try reader.next() else { throw ImageError.truncated("input is 1 byte long") }

        let outFormat = try outputFormat()
        if b0 == 0x89 && b1 == UInt8(ascii: "P") {
            let data = [b0, b1] + (try reader.readAll(limit: 1 << 31))
            let img = try PNGCodec.decode(data)
            try processWhole(img, format: outFormat ?? .png)
            return
        }
        guard b0 == UInt8(ascii: "P") else { throw ImageError.badMagic(String(format: "first bytes are 0x%02x 0x%02x", b0, b1)) }
        let nr = try NetpbmReader(input: reader, magic: (b0, b1))
        let h = nr.header
        let target = outFormat ?? h.format
        let threshold = ProcessInfo.processInfo.environment["CSGIS_STREAM_THRESHOLD"].flatMap { Int($0) } ?? Job.wholeImageBytes
        if h.dataBytes <= threshold || target == .png {
            try processWhole(try ImageFile.readRest(nr), format: target)
        } else {
            try processStream(nr, format: target)
        }
    }

    func outputFormat() throws -> ImageFormat? {
        var f = options.format?.lowercased()
        if f == nil, options.output != "-" {
            let ext = (options.output as NSString).pathExtension.lowercased()
            if ["png", "pam", "ppm", "pgm", "pnm"].contains(ext) { f = ext }
        }
        switch f {
        case nil: return nil
        case "png": return .png
        case "pam": return .pam(tupleType: "")
        default: return .pnm(magic: "P6")
        }
    }

    func makeSmoother(width: Int, height: Int, channels: Int) throws -> TiledSmoother {
        let path = try ModelLocator.resolve(options.model)
        let model = try CSGISModel(contentsOf: path)
        let t = try TiledSmoother(model: model, precision: Precision(rawValue: options.precision)!, threads: options.threads,
                                  memoryBudget: options.memory.flatMap(parseBytes), tileSize: options.tile,
                                  rowOverhead: width * channels * 2 + 64)  // SampleRowQueue's copy of each row
        _ = try t.geometry(width: width, height: height)  // a too-small budget fails here, before any output
        return t
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

    func processWhole(_ img: SampleImage, format: ImageFormat) throws {
        var result = img
        if options.strength > 0 {
            let t = try makeSmoother(width: img.width, height: img.height, channels: img.channels)
            let q = SampleRowQueue(width: img.width, channels: img.channels, maxval: img.maxval)
            var y = 0
            let rowLen = img.width * img.channels
            var out = [UInt16]()
            out.reserveCapacity(img.samples.count)
            let source = SampleRowSource(queue: q) { dst in
                img.samples.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + y * rowLen, count: rowLen) }
                y += 1
            }
            let sink = SampleRowSink(queue: q, passThrough: false) { row in out.append(contentsOf: UnsafeBufferPointer(start: row, count: rowLen)) }
            try t.run(width: img.width, height: img.height, source: source, sink: sink, strength: Float(options.strength), progress: progress)
            result.samples = out
        }
        let bytes = try ImageFile.encode(result, as: formatFor(format, input: img.format))  // fails before output exists
        let output = try Output(path: options.output)
        do {
            try bytes.withUnsafeBytes { try output.write($0) }
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Keeps the input's TUPLTYPE / PNM flavour when the output is of the same family.
    func formatFor(_ target: ImageFormat, input: ImageFormat) -> ImageFormat {
        switch (target, input) {
        case (.pam, .pam): return input
        case (.pnm, .pnm): return input
        default: return target
        }
    }

    func processStream(_ nr: NetpbmReader, format: ImageFormat) throws {
        let h = nr.header
        let t = try makeSmoother(width: h.width, height: h.height, channels: h.channels)
        let output = try Output(path: options.output)
        do {
            let w = try NetpbmWriter(format: formatFor(format, input: h.format), width: h.width, height: h.height,
                                     channels: h.channels, maxval: h.maxval, emit: { try output.write($0) })
            let q = SampleRowQueue(width: h.width, channels: h.channels, maxval: h.maxval)
            let source = SampleRowSource(queue: q) { try nr.readRow(into: $0) }
            let sink = SampleRowSink(queue: q, passThrough: options.strength == 0) { try w.writeRow($0) }
            try t.run(width: h.width, height: h.height, source: source, sink: sink, strength: Float(options.strength), progress: progress)
            try output.commit()
        } catch {
            output.abandon()
            throw error
        }
    }
}
