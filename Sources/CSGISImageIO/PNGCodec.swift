import CPNG
import Foundation

/// PNG through libpng: whole images in memory.
public enum PNGCodec {
    /// Largest PNG decoded (pixels); PNGs are held in memory whole.
    public static var maxPixels: UInt64 = 1 << 30

    public static func decode(_ data: [UInt8]) throws -> SampleImage {
        var img = csgis_png_image()
        var err = [CChar](repeating: 0, count: 256)
        let rc = data.withUnsafeBufferPointer { csgis_png_decode($0.baseAddress, $0.count, maxPixels, &img, &err, err.count) }
        guard rc == 0 else {
            let m = String(cString: err)
            if m.contains("over the limit") { throw ImageError.tooLarge(m) }
            if m.contains("truncated") { throw ImageError.truncated("PNG: \(m)") }
            throw ImageError.corrupt("PNG: \(m)")
        }
        defer { csgis_png_free(&img) }
        let n = Int(img.width) * Int(img.height) * Int(img.channels)
        let samples = Array(UnsafeBufferPointer(start: img.samples, count: n))
        return SampleImage(width: Int(img.width), height: Int(img.height), channels: Int(img.channels),
                           maxval: img.bit_depth == 16 ? 65535 : 255, samples: samples, format: .png)
    }

    /// Encodes 8-bit (maxval 255) or 16-bit (maxval 65535) images; other maxvals are rescaled to 16 bits.
    public static func encode(_ image: SampleImage) throws -> [UInt8] {
        var s = image.samples
        var depth = 8
        if image.maxval == 65535 { depth = 16 } else if image.maxval != 255 {
            depth = image.maxval < 255 ? 8 : 16
            let target = depth == 8 ? 255.0 : 65535.0
            s = s.map { UInt16((Double($0) * target / Double(image.maxval)).rounded()) }
        }
        return try s.withUnsafeMutableBufferPointer { buf -> [UInt8] in
            var img = csgis_png_image(width: UInt32(image.width), height: UInt32(image.height), channels: Int32(image.channels),
                                      bit_depth: Int32(depth), was_palette: 0, samples: buf.baseAddress)
            var out: UnsafeMutablePointer<UInt8>?
            var size = 0
            var err = [CChar](repeating: 0, count: 256)
            guard csgis_png_encode(&img, &out, &size, &err, err.count) == 0, let out else {
                throw ImageError.io("PNG encoding failed: \(String(cString: err))")
            }
            defer { free(out) }
            return Array(UnsafeBufferPointer(start: out, count: size))
        }
    }

    public static func isPNG(_ first: [UInt8]) -> Bool {
        first.withUnsafeBufferPointer { csgis_png_is_png($0.baseAddress, $0.count) != 0 }
    }
}
