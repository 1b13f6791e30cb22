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

/// Converts one row of samples to RGB floats in 0...1 (grey is replicated).
@inline(__always)
func samplesToRGB(_ s: UnsafePointer<UInt16>, width: Int, channels: Int, maxval: Int, into out: UnsafeMutablePointer<Float>) {
    let scale = 1 / Float(maxval)
    if channels <= 2 {
        for x in 0..<width { let v = Float(s[x * channels]) * scale; out[3 * x] = v; out[3 * x + 1] = v; out[3 * x + 2] = v }
    } else {
        for x in 0..<width { for c in 0..<3 { out[3 * x + c] = Float(s[x * channels + c]) * scale } }
    }
}

/// Converts one row of RGB floats back to samples, taking alpha from `alphaFrom` (the
/// input row) unchanged; grey is the mean of the three channels. Values are clipped.
@inline(__always)
func rgbToSamples(_ rgb: UnsafePointer<Float>, width: Int, channels: Int, maxval: Int, alphaFrom: UnsafePointer<UInt16>,
                  into out: UnsafeMutablePointer<UInt16>) {
    let m = Float(maxval)
    // `v > 0` is false for NaN, so a non-finite result becomes 0 instead of trapping.
    func q(_ v: Float) -> UInt16 { v > 0 ? UInt16((min(v, 1) * m).rounded()) : 0 }
    for x in 0..<width {
        if channels <= 2 {
            out[x * channels] = q((rgb[3 * x] + rgb[3 * x + 1] + rgb[3 * x + 2]) / 3)
        } else {
            for c in 0..<3 { out[x * channels + c] = q(rgb[3 * x + c]) }
        }
        if channels == 2 || channels == 4 { out[x * channels + channels - 1] = alphaFrom[x * channels + channels - 1] }
    }
}

extension SampleImage {
    /// Colour as RGB floats in 0...1, HWC.
    public func rgb() -> [Float] {
        var out = [Float](repeating: 0, count: width * height * 3)
        samples.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { o in
            for y in 0..<height {
                samplesToRGB(s.baseAddress! + y * width * channels, width: width, channels: channels, maxval: maxval,
                             into: o.baseAddress! + y * width * 3)
            }
        } }
        return out
    }

    /// This image with its colour replaced by `rgb` (HWC floats); alpha is kept.
    public func replacingColor(with rgb: [Float]) -> SampleImage {
        var r = self
        r.samples.withUnsafeMutableBufferPointer { o in samples.withUnsafeBufferPointer { s in rgb.withUnsafeBufferPointer { f in
            for y in 0..<height {
                let off = y * width * channels
                rgbToSamples(f.baseAddress! + y * width * 3, width: width, channels: channels, maxval: maxval,
                             alphaFrom: s.baseAddress! + off, into: o.baseAddress! + off)
            }
        } } }
        return r
    }
}

/// Public row conversions for streaming front ends (see `samplesToRGB`/`rgbToSamples`).
public func samplesToRGBRow(_ s: UnsafePointer<UInt16>, width: Int, channels: Int, maxval: Int, into out: UnsafeMutablePointer<Float>) {
    samplesToRGB(s, width: width, channels: channels, maxval: maxval, into: out)
}

public func rgbToSamplesRow(_ rgb: UnsafePointer<Float>, width: Int, channels: Int, maxval: Int, alphaFrom: UnsafePointer<UInt16>,
                            into out: UnsafeMutablePointer<UInt16>) {
    rgbToSamples(rgb, width: width, channels: channels, maxval: maxval, alphaFrom: alphaFrom, into: out)
}
