import CPNG

/// Reads a non-interlaced PNG row by row from a byte stream (bounded memory); interlaced
/// PNGs can only be decoded whole (`PNGCodec.decode`).
public final class PNGRowReader {
    public let width: Int, height: Int, channels: Int, maxval: Int
    /// The colour and metadata chunks before the image data (those after it are not read).
    public let chunks: PNGChunks
    private let handle: OpaquePointer
    private let context: Unmanaged<Context>

    /// The input and the first error its reads threw (libpng only sees a failed read).
    final class Context {
        let input: ByteReader
        var error: Error?
        init(_ input: ByteReader) { self.input = input }
    }

    /// `prefix`: the bytes already taken from `input` (at least the start of the signature).
    public init(input: ByteReader, prefix: [UInt8]) throws {
        let ctx = Context(input)
        let retained = Unmanaged.passRetained(ctx)
        context = retained
        var info = csgis_png_image()
        var err = [CChar](repeating: 0, count: 256)
        let maxPixels = UInt64(ImageLimits.maxPixels)
        let h = prefix.withUnsafeBufferPointer { p in
            csgis_png_reader_open({ user, buf, size in
                let c = Unmanaged<Context>.fromOpaque(user!).takeUnretainedValue()
                do { return try c.input.readSome(upTo: size, into: buf!) } catch {
                    c.error = error
                    return -1
                }
            }, retained.toOpaque(), p.baseAddress, p.count, maxPixels, &info, &err, err.count)
        }
        guard let h else {
            retained.release()
            throw ctx.error ?? PNGCodec.error(String(cString: err))
        }
        handle = h
        chunks = PNGChunks(copying: info.chunks, count: info.chunks_size)
        csgis_png_free_chunks(info.chunks)
        width = Int(info.width); height = Int(info.height); channels = Int(info.channels)
        maxval = info.bit_depth == 16 ? 65535 : 255
        guard width <= ImageLimits.maxDimension, height <= ImageLimits.maxDimension else {
            csgis_png_reader_free(handle)
            context.release()
            throw ImageError.tooLarge("\(width)x\(height) is over the limit (\(ImageLimits.maxDimension) per side)")
        }
    }

    deinit {
        csgis_png_reader_free(handle)
        context.release()
    }

    /// After the last row: checks the end of the file and returns every kept chunk, those
    /// after the image data included.
    public func finish() throws -> PNGChunks {
        var err = [CChar](repeating: 0, count: 256)
        var p: UnsafeMutablePointer<UInt8>?
        var n = 0
        guard csgis_png_reader_end(handle, &p, &n, &err, err.count) == 0 else {
            throw context.takeUnretainedValue().error ?? PNGCodec.error(String(cString: err))
        }
        defer { csgis_png_free_chunks(p) }
        return PNGChunks(copying: p, count: n)
    }

    /// The next row: width x channels samples.
    public func readRow(into row: UnsafeMutablePointer<UInt16>) throws {
        var err = [CChar](repeating: 0, count: 256)
        guard csgis_png_reader_row(handle, row, &err, err.count) == 0 else {
            throw context.takeUnretainedValue().error ?? PNGCodec.error(String(cString: err))
        }
    }
}

/// Writes a PNG row by row (8-bit for maxval 255 or less, 16-bit above; other maxvals are
/// rescaled to the nearest of those depths).
public final class PNGRowWriter: RowWriter {
    public let width: Int, height: Int, channels: Int, maxval: Int
    private let depth: Int
    private let handle: OpaquePointer
    private let context: Unmanaged<Context>
    private var scaled: [UInt16]

    final class Context {
        let emit: (UnsafeRawBufferPointer) throws -> Void
        var error: Error?
        init(_ emit: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.emit = emit }
    }

    public init(width: Int, height: Int, channels: Int, maxval: Int, chunks: PNGChunks = PNGChunks(),
                emit: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        self.width = width; self.height = height; self.channels = channels; self.maxval = maxval
        depth = maxval == 65535 || maxval > 255 ? 16 : 8
        scaled = maxval == 255 || maxval == 65535 ? [] : [UInt16](repeating: 0, count: width * channels)
        let ctx = Context(emit)
        let retained = Unmanaged.passRetained(ctx)
        context = retained
        var err = [CChar](repeating: 0, count: 256)
        let (w, h, c, d) = (UInt32(width), UInt32(height), Int32(channels), Int32(depth))
        let opened = chunks.blob.withUnsafeBufferPointer { cb in
            csgis_png_writer_open({ user, buf, size in
                let c = Unmanaged<Context>.fromOpaque(user!).takeUnretainedValue()
                do { try c.emit(UnsafeRawBufferPointer(start: buf, count: size)) } catch {
                    c.error = error
                    return 1
                }
                return 0
            }, retained.toOpaque(), w, h, c, d, cb.baseAddress, cb.count, &err, err.count)
        }
        guard let h = opened else {
            retained.release()
            throw ctx.error ?? ImageError.io("PNG encoding failed: \(String(cString: err))")
        }
        handle = h
    }

    deinit {
        csgis_png_writer_free(handle)
        context.release()
    }

    public func writeRow(_ samples: UnsafePointer<UInt16>) throws {
        var err = [CChar](repeating: 0, count: 256)
        let rc: Int32
        if scaled.isEmpty {
            rc = csgis_png_writer_row(handle, samples, &err, err.count)
        } else {
            let target = depth == 8 ? 255.0 : 65535.0
            for i in 0..<scaled.count { scaled[i] = UInt16((Double(samples[i]) * target / Double(maxval)).rounded()) }
            rc = scaled.withUnsafeBufferPointer { csgis_png_writer_row(handle, $0.baseAddress, &err, err.count) }
        }
        try check(rc, err)
    }

    /// Chunks after the image data that a streamed reader found only at its end; written by `finish`.
    public var lateChunks = PNGChunks()

    public func finish() throws {
        var err = [CChar](repeating: 0, count: 256)
        let rc = lateChunks.blob.withUnsafeBufferPointer { csgis_png_writer_finish(handle, $0.baseAddress, $0.count, &err, err.count) }
        try check(rc, err)
    }

    private func check(_ rc: Int32, _ err: [CChar]) throws {
        guard rc == 0 else { throw context.takeUnretainedValue().error ?? ImageError.io("PNG encoding failed: \(String(cString: err))") }
    }
}
