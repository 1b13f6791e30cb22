import Foundation

/// Rows of an opened image, top to bottom, as 16-bit samples (`channels` per pixel,
/// 0...maxval): the streamed PNG reader and the netpbm reader.
public protocol ImageRowReader: AnyObject {
    var width: Int { get }
    var height: Int { get }
    var channels: Int { get }
    var maxval: Int { get }
    /// The PNG's colour and metadata chunks before the image data (none for netpbm).
    var chunks: PNGChunks { get }
    func readRow(into row: UnsafeMutablePointer<UInt16>) throws
    /// After the last row: checks the end of the input and returns every kept chunk, those
    /// after a PNG's image data included.
    func finish() throws -> PNGChunks
}

/// An image input whose format is known and whose header has been read, its pixels not
/// yet: the one place that sniffs a format (PNG or netpbm), so a front end can plan how to
/// read it (whole or row by row, or in place in its file) before any pixel arrives.
public final class ImageInput {
    public let format: ImageFormat
    public let width: Int, height: Int
    /// Channels as the header states them (a PNG's tRNS chunk may add alpha when decoded).
    public let channels: Int
    /// Bytes per sample in the file: 1 or 2.
    public let bytesPerSample: Int
    /// Whether rows can be read one by one (`rows()`); an interlaced PNG cannot.
    public let streamable: Bool
    /// Where the samples lie in a seekable file, so they can be read in place: binary
    /// netpbm samples with maxval 255 or 65535 (no sample exceeds it, so none needs the
    /// reader's check) in a regular file that holds every row. The descriptor stays the
    /// input's.
    public let samplesInFile: (descriptor: Int32, offset: Int, maxval: Int)?
    private let reader: ByteReader
    private let pngHead: [UInt8]?, netpbm: NetpbmReader?

    /// Reads the format's signature and header from `reader`.
    public static func open(_ reader: ByteReader) throws -> ImageInput {
        guard let b0 = try reader.next() else { throw ImageError.empty }
        guard let b1 = try reader.next() else { throw ImageError.truncated("input is 1 byte long") }
        if b0 == 0x89 && b1 == UInt8(ascii: "P") {
            // signature and IHDR: 33 bytes
            let head = [b0, b1] + (try reader.readBytes(atMost: 31))
            return ImageInput(reader: reader, png: head, header: try PNGHeader(head))
        }
        guard b0 == UInt8(ascii: "P") else { throw ImageError.badMagic(String(format: "first bytes are 0x%02x 0x%02x", b0, b1)) }
        return ImageInput(reader: reader, netpbm: try NetpbmReader(input: reader, magic: (b0, b1)))
    }

    private init(reader: ByteReader, png head: [UInt8], header h: PNGHeader) {
        self.reader = reader; pngHead = head; netpbm = nil
        format = .png; width = h.width; height = h.height; channels = h.channels; bytesPerSample = h.bytesPerSample
        streamable = !h.interlaced; samplesInFile = nil
    }

    private init(reader: ByteReader, netpbm nr: NetpbmReader) {
        self.reader = reader; pngHead = nil; netpbm = nr
        let h = nr.header
        format = h.format; width = h.width; height = h.height; channels = h.channels; bytesPerSample = h.bytesPerSample
        streamable = true
        var st = stat()
        if h.binary, h.maxval == 255 || h.maxval == 65535, let offset = reader.fileOffset,
           fstat(reader.descriptor, &st) == 0, st.st_mode & S_IFMT == S_IFREG,
           case let (need, o) = h.width.multipliedReportingOverflow(by: h.height * h.channels * h.bytesPerSample), !o,
           Int(st.st_size) - offset >= need {
            samplesInFile = (reader.descriptor, offset, h.maxval)
        } else {
            samplesInFile = nil
        }
    }

    /// The whole image (its samples held as they arrive, never sized by the header's claim).
    public func readWhole() throws -> SampleImage {
        if let nr = netpbm { return try ImageFile.readRest(nr) }
        return try PNGCodec.decode(pngHead! + (try reader.readAll(limit: 1 << 31)))
    }

    /// The rows, one by one (only when `streamable`).
    public func rows() throws -> ImageRowReader {
        if let nr = netpbm { return nr }
        return try PNGRowReader(input: reader, prefix: pngHead!)
    }
}

extension PNGRowReader: ImageRowReader {}
extension NetpbmReader: ImageRowReader {
    public var width: Int { header.width }
    public var height: Int { header.height }
    public var channels: Int { header.channels }
    public var maxval: Int { header.maxval }
    public var chunks: PNGChunks { PNGChunks() }
    public func finish() throws -> PNGChunks { PNGChunks() }
}

/// Whole-image reading and writing in any supported format.
public enum ImageFile {
    /// Reads a whole PNG, PAM or PGM/PPM image from `reader`.
    public static func read(_ reader: ByteReader) throws -> SampleImage { try ImageInput.open(reader).readWhole() }

    /// The pixel data after a parsed netpbm header.
    public static func readRest(_ nr: NetpbmReader) throws -> SampleImage {
        let h = nr.header
        // Grown as rows arrive (not sized by the header's claim), so a short input costs what it holds.
        let rowLen = h.width * h.channels
        var samples = [UInt16]()
        samples.reserveCapacity(min(rowLen * h.height, 1 << 20))
        var row = [UInt16](repeating: 0, count: rowLen)
        for _ in 0..<h.height {
            try row.withUnsafeMutableBufferPointer { try nr.readRow(into: $0.baseAddress!) }
            samples.append(contentsOf: row)
        }
        return SampleImage(width: h.width, height: h.height, channels: h.channels, maxval: h.maxval, samples: samples, format: h.format)
    }

    /// Encodes `image` as `format` (nil = its own format).
    public static func encode(_ image: SampleImage, as format: ImageFormat? = nil) throws -> [UInt8] {
        var out: [UInt8] = []
        let w = try rowWriter(format: format ?? image.format, width: image.width, height: image.height, channels: image.channels,
                              maxval: image.maxval, chunks: image.pngChunks, emit: { out.append(contentsOf: $0) })
        try image.samples.withUnsafeBufferPointer { p in
            for y in 0..<image.height { try w.writeRow(p.baseAddress! + y * image.width * image.channels) }
        }
        try w.finish()
        return out
    }
}
