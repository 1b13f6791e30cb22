/// An image read and written by rectangle in a caller's layouts: the one random-access image
/// type, whatever holds the pixels. `csgis_smooth`'s buffers and the filter's whole images
/// (memory), a spooled stream (files) and `csgis_smooth_regions` (the caller's callbacks) are
/// each a pair of region transfers. The scheduler reads input rectangles (a strip's columns
/// with their halo, a few rows at a time, some more than once) and writes every output pixel
/// once; alpha is restored from the input, read again where a result is written.
/// Memory: at most about 1 MB of samples per transfer, whatever the rectangle asked.
public final class RegionImage: RandomAccessImage {
    /// Moves the `width` x `height` pixels at (`x`, `y`) between the image and `pixels`,
    /// rows `stride` bytes apart, in the layout's samples.
    public typealias RegionTransfer = (_ x: Int, _ y: Int, _ width: Int, _ height: Int, _ pixels: UnsafeMutableRawPointer,
                                 _ stride: Int) throws -> Void
    public let input: PixelLayout, output: PixelLayout
    let read: RegionTransfer, write: RegionTransfer
    private let inPixel: Int, outPixel: Int
    private var inBuf: [UInt8] = [], alphaBuf: [UInt8] = [], outBuf: [UInt8] = []

    public init(input: PixelLayout, output: PixelLayout, read: @escaping RegionTransfer, write: @escaping RegionTransfer) {
        self.input = input; self.output = output; self.read = read; self.write = write
        inPixel = input.channels * input.sample.bytes
        outPixel = output.channels * output.sample.bytes
    }

    /// An image in memory: `src` in `input`'s layout, results to `dst` in `output`'s. The
    /// pointers must outlive the run.
    public static func memory(input: PixelLayout, src: UnsafeRawPointer, output: PixelLayout, dst: UnsafeMutableRawPointer) -> RegionImage {
        let ip = input.channels * input.sample.bytes, op = output.channels * output.sample.bytes
        return RegionImage(input: input, output: output, read: { x, y, w, h, p, s in
            for r in 0..<h { (p + r * s).copyMemory(from: src + (y + r) * input.stride + x * ip, byteCount: w * ip) }
        }, write: { x, y, w, h, p, s in
            for r in 0..<h { (dst + (y + r) * output.stride + x * op).copyMemory(from: p + r * s, byteCount: w * op) }
        })
    }

    /// Rows per transfer for `columns`, so one holds about 1 MB.
    private func step(_ columns: Range<Int>, _ pixel: Int) -> Int { max(1, (1 << 20) / max(1, columns.count * pixel)) }

    public func readRows(_ first: Int, _ count: Int, columns: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws {
        let cols = columns.count, stride = cols * inPixel, n = step(columns, inPixel)
        var y = 0
        while y < count {
            let c = min(n, count - y)
            if inBuf.count < c * stride { inBuf = [UInt8](repeating: 0, count: c * stride) }
            try inBuf.withUnsafeMutableBytes { b in
                let p = b.baseAddress!
                try read(columns.lowerBound, first + y, cols, c, p, stride)
                // toRGB indexes pixels by their column in the image: shift the row to match
                for r in 0..<c { input.toRGB(p + r * stride - columns.lowerBound * inPixel, buffer + (y + r) * cols * 3, columns: columns) }
            }
            y += c
        }
    }

    public func writeRows(_ first: Int, _ count: Int, columns: Range<Int>, from buffer: UnsafePointer<Float>) throws {
        let cols = columns.count, inStride = cols * inPixel, outStride = cols * outPixel
        let n = min(step(columns, inPixel), step(columns, outPixel))
        var y = 0
        while y < count {
            let c = min(n, count - y)
            if outBuf.count < c * outStride { outBuf = [UInt8](repeating: 0, count: c * outStride) }
            if output.alpha >= 0, alphaBuf.count < c * inStride { alphaBuf = [UInt8](repeating: 0, count: c * inStride) }
            try alphaBuf.withUnsafeMutableBytes { a in
                try outBuf.withUnsafeMutableBytes { o in
                    let ap = a.baseAddress, op = o.baseAddress!
                    if output.alpha >= 0 { try read(columns.lowerBound, first + y, cols, c, ap!, inStride) }
                    for r in 0..<c {
                        // without alpha in the output, the source row is not read (any pointer will do)
                        let alphaRow = UnsafeRawPointer(ap.map { $0 + r * inStride } ?? UnsafeMutableRawPointer(op))
                        output.fromRGB(buffer + (y + r) * cols * 3, op + r * outStride - columns.lowerBound * outPixel,
                                       alphaFrom: alphaRow - columns.lowerBound * inPixel, input, columns: columns)
                    }
                    try write(columns.lowerBound, first + y, cols, c, op, outStride)
                }
            }
            y += c
        }
    }
}
