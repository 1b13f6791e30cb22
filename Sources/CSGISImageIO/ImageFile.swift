/// Whole-image reading and writing in any supported format.
public enum ImageFile {
    /// Reads a whole PNG, PAM or PGM/PPM image from `reader`.
    public static func read(_ reader: ByteReader) throws -> SampleImage {
        guard let b0 = try reader.next() else { throw ImageError.empty }
        guard let b1 = try reader.next() else { throw ImageError.truncated("input is 1 byte long") }
        if b0 == 0x89 && b1 == UInt8(ascii: "P") {
            return try PNGCodec.decode([b0, b1] + (try reader.readAll(limit: 1 << 31)))
        }
        let nr = try NetpbmReader(input: reader, magic: (b0, b1))
        return try readRest(nr)
    }

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
