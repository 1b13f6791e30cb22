/// The file formats read and written; the output follows the input unless asked otherwise.
public enum ImageFormat: Equatable, Sendable {
    /// Netpbm PAM (P7) with its TUPLTYPE.
    case pam(tupleType: String)
    /// PGM/PPM: P2 (ASCII grey), P3 (ASCII colour), P5 (binary grey), P6 (binary colour).
    case pnm(magic: String)
    /// PNG (8 or 16 bit).
    case png

    public var name: String {
        switch self {
        case .pam: return "PAM"
        case let .pnm(m): return m == "P2" || m == "P5" ? "PGM" : "PPM"
        case .png: return "PNG"
        }
    }
}

/// An image as integer samples: 1 to 4 channels (grey, grey+alpha, RGB, RGBA), values
/// 0...maxval, interleaved. Alpha, when present, is the last channel.
public struct SampleImage: Equatable, Sendable {
    public var width: Int, height: Int, channels: Int
    public var maxval: Int
    public var samples: [UInt16]
    public var format: ImageFormat
    /// A PNG input's colour and metadata chunks (empty for other formats).
    public var pngChunks: PNGChunks

    public init(width: Int, height: Int, channels: Int, maxval: Int, samples: [UInt16], format: ImageFormat,
                pngChunks: PNGChunks = PNGChunks()) {
        self.width = width; self.height = height; self.channels = channels
        self.maxval = maxval; self.samples = samples; self.format = format; self.pngChunks = pngChunks
    }

    public var hasAlpha: Bool { channels == 2 || channels == 4 }
    public var colorChannels: Int { channels <= 2 ? 1 : 3 }
}
