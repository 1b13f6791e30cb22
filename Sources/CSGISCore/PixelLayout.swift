/// How a caller's image rows are laid out: interleaved channels (grey or RGB colour, with an
/// optional alpha channel at any position), one sample type and the bytes from row to row.
/// The one place where samples become the network's RGB floats and back, for the filter's
/// netpbm/PNG rows and the C API's buffers and callbacks alike.
public struct PixelLayout: Equatable, Sendable {
    public enum Sample: Equatable, Sendable {
        /// `u16BigEndian`: 16-bit samples most significant byte first, as netpbm files store
        /// them (so a seekable file is read where it lies).
        case u8, u16, u16BigEndian, f32
        public var bytes: Int { self == .u8 ? 1 : self == .f32 ? 4 : 2 }
    }

    public let width: Int, height: Int, channels: Int
    /// The alpha channel's index, or -1 for none.
    public let alpha: Int
    public let sample: Sample
    /// The integer value meaning 1.0 (255, 65535, or a netpbm file's MAXVAL); 1 for f32.
    public let maxval: Int
    /// Bytes from one row to the next (at least `rowBytes`).
    public let stride: Int

    /// Validates everything before any row is touched; `what` names the image in errors.
    public init(width: Int, height: Int, channels: Int, alpha: Int, sample: Sample, maxval: Int? = nil,
                stride: Int = 0, what: String = "image") throws {
        guard width > 0, height > 0 else { throw CSGISError.invalidImage("\(what): size \(width)x\(height) is empty") }
        guard (1...4).contains(channels) else { throw CSGISError.invalidImage("\(what): \(channels) channels (1 to 4 supported)") }
        guard alpha == -1 || (0..<channels).contains(alpha) else { throw CSGISError.invalidImage("\(what): alpha_channel \(alpha) is not a channel") }
        let colour = channels - (alpha >= 0 ? 1 : 0)
        guard colour == 1 || colour == 3 else { throw CSGISError.invalidImage("\(what): \(colour) colour channels (1 or 3 supported)") }
        let limit = sample == .u8 ? 255 : sample == .f32 ? 1 : 65535
        let m = maxval ?? limit
        guard m >= 1, m <= limit else { throw CSGISError.invalidImage("\(what): maxval \(m) does not fit \(sample) samples") }
        let (packed, o1) = width.multipliedReportingOverflow(by: channels * sample.bytes)
        guard !o1 else { throw CSGISError.invalidImage("\(what): a row of \(width) pixels is too large") }
        let s = stride == 0 ? packed : stride
        guard s >= packed else { throw CSGISError.invalidImage("\(what): stride \(s) is less than a row (\(packed) bytes)") }
        guard !s.multipliedReportingOverflow(by: height).overflow else { throw CSGISError.invalidImage("\(what): stride \(s) x \(height) rows overflows") }
        self.width = width; self.height = height; self.channels = channels; self.alpha = alpha
        self.sample = sample; self.maxval = m; self.stride = s
        colourIndices = (0..<channels).filter { $0 != alpha }
    }

    /// The netpbm/PNG convention: samples 0...maxval (native UInt16 by default, as the filter
    /// holds them), alpha last when there are 2 or 4 channels.
    public static func samples(width: Int, height: Int, channels: Int, maxval: Int, sample: Sample = .u16) throws -> PixelLayout {
        try PixelLayout(width: width, height: height, channels: channels, alpha: channels == 2 || channels == 4 ? channels - 1 : -1,
                        sample: sample, maxval: maxval)
    }

    /// Whether `other`'s samples mean the same values as this layout's (type and maxval).
    public func sameSamples(as other: PixelLayout) -> Bool { sample == other.sample && maxval == other.maxval }

    /// The bytes of one row's samples (without stride padding).
    public var rowBytes: Int { width * channels * sample.bytes }
    private let colourIndices: [Int]

    @inline(__always)
    func load(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        switch sample {
        case .u8: return Float(p.load(fromByteOffset: i, as: UInt8.self)) * (1 / Float(maxval))
        case .u16: return Float(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) * (1 / Float(maxval))
        case .u16BigEndian: return Float(UInt16(bigEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) * (1 / Float(maxval))
        case .f32:
            let v = p.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
            return v.isNaN ? 0 : v  // a NaN sample would spread through the network's receptive field
        }
    }

    @inline(__always)
    func store(_ p: UnsafeMutableRawPointer, _ i: Int, _ v: Float) {
        let m = Float(maxval)
        switch sample {
        // `v > 0` is false for NaN: a NaN becomes 0 instead of trapping in the conversion
        case .u8: p.storeBytes(of: v > 0 ? UInt8((min(v, 1) * m).rounded()) : 0, toByteOffset: i, as: UInt8.self)
        case .u16: p.storeBytes(of: v > 0 ? UInt16((min(v, 1) * m).rounded()) : 0, toByteOffset: 2 * i, as: UInt16.self)
        case .u16BigEndian: p.storeBytes(of: (v > 0 ? UInt16((min(v, 1) * m).rounded()) : 0).bigEndian, toByteOffset: 2 * i, as: UInt16.self)
        case .f32: p.storeBytes(of: v.isNaN ? 0 : v, toByteOffset: 4 * i, as: Float.self)
        }
    }

    /// One row (its pixels in `columns`, all by default) -> RGB floats in 0...1, 3 per pixel
    /// from `out` on (grey is replicated into R, G and B).
    public func toRGB(_ row: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, columns: Range<Int>? = nil) {
        let c = colourIndices, cols = columns ?? 0..<width
        for x in cols {
            let o = 3 * (x - cols.lowerBound)
            if c.count == 1 {
                let v = load(row, x * channels + c[0]); out[o] = v; out[o + 1] = v; out[o + 2] = v
            } else {
                for k in 0..<3 { out[o + k] = load(row, x * channels + c[k]) }
            }
        }
    }

    /// RGB floats -> one row (grey is the mean of R, G and B; values are clipped), alpha taken
    /// from `source`, a row in `sourceLayout`: copied sample for sample when the two layouts'
    /// integer samples agree, converted otherwise.
    /// `columns`: only those pixels of the rows (all by default), `rgb` holding just them.
    public func fromRGB(_ rgb: UnsafePointer<Float>, _ row: UnsafeMutableRawPointer, alphaFrom source: UnsafeRawPointer,
                        _ sourceLayout: PixelLayout, columns: Range<Int>? = nil) {
        let c = colourIndices, cols = columns ?? 0..<width
        let copyAlpha = sample != .f32 && sameSamples(as: sourceLayout)
        for x in cols {
            let i = 3 * (x - cols.lowerBound)
            if c.count == 1 {
                store(row, x * channels + c[0], (rgb[i] + rgb[i + 1] + rgb[i + 2]) / 3)
            } else {
                for k in 0..<3 { store(row, x * channels + c[k], rgb[i + k]) }
            }
            guard alpha >= 0 else { continue }
            let from = x * sourceLayout.channels + sourceLayout.alpha, to = x * channels + alpha
            if copyAlpha {
                (row + to * sample.bytes).copyMemory(from: source + from * sample.bytes, byteCount: sample.bytes)
            } else {
                store(row, to, sourceLayout.load(source, from))
            }
        }
    }
}
