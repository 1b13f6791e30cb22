import CPNG
import Foundation

/// PNG through libpng, whole images in memory (`PNGRowReader` and `PNGRowWriter` stream rows).
public enum PNGCodec {
    /// Largest PNG decoded (pixels); PNGs are held in memory whole.
    public static var maxPixels: UInt64 = 1 << 30

    public static func decode(_ data: [UInt8]) throws -> SampleImage {
        var img = csgis_png_image()
        var err = [CChar](repeating: 0, count: 256)
        let rc = data.withUnsafeBufferPointer { csgis_png_decode($0.baseAddress, $0.count, maxPixels, &img, &err, err.count) }
        guard rc == 0 else { throw error(String(cString: err)) }
        defer { csgis_png_free(&img) }
        let n = Int(img.width) * Int(img.height) * Int(img.channels)
        let samples = Array(UnsafeBufferPointer(start: img.samples, count: n))
        return SampleImage(width: Int(img.width), height: Int(img.height), channels: Int(img.channels),
                           maxval: img.bit_depth == 16 ? 65535 : 255, samples: samples, format: .png,
                           pngChunks: PNGChunks(copying: img.chunks, count: img.chunks_size))
    }

    /// Encodes 8-bit (maxval 255) or 16-bit (maxval 65535) images; other maxvals are rescaled
    /// (to 8 bits up to 255, else to 16).
    public static func encode(_ image: SampleImage) throws -> [UInt8] { try ImageFile.encode(image, as: .png) }

    /// A libpng message as the codec error that names it.
    static func error(_ m: String) -> ImageError {
        if m.contains("over the limit") { return .tooLarge(m) }
        if m.contains("truncated") { return .truncated("PNG: \(m)") }
        return .corrupt("PNG: \(m)")
    }

    public static func isPNG(_ first: [UInt8]) -> Bool {
        first.withUnsafeBufferPointer { csgis_png_is_png($0.baseAddress, $0.count) != 0 }
    }
}
