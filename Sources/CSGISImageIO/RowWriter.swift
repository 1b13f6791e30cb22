/// An image encoder fed one row of samples at a time (width x channels values), so
/// outputs of any size are written in bounded memory.
public protocol RowWriter: AnyObject {
    func writeRow(_ samples: UnsafePointer<UInt16>) throws
    /// Completes the file after the last row.
    func finish() throws
}

extension ImageFile {
    /// A row writer for `format` that hands its bytes to `emit` as they are made. `chunks`
    /// (a PNG input's colour and metadata) are written into a PNG output; other formats cannot hold them.
    public static func rowWriter(format: ImageFormat, width: Int, height: Int, channels: Int, maxval: Int,
                                 chunks: PNGChunks = PNGChunks(),
                                 emit: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> RowWriter {
        if format == .png {
            return try PNGRowWriter(width: width, height: height, channels: channels, maxval: maxval, chunks: chunks, emit: emit)
        }
        return try NetpbmWriter(format: format, width: width, height: height, channels: channels, maxval: maxval, emit: emit)
    }
}
