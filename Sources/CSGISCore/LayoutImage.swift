/// An image in memory in a caller's layouts, read and written by column range (so a wide
/// image runs in full-height strips, holding no bands): `csgis_smooth`'s buffers and the
/// filter's whole images. Alpha comes from `src`. The pointers must outlive the run.
public final class LayoutImage: RandomAccessImage {
    public let input: PixelLayout, output: PixelLayout
    let src: UnsafeRawPointer, dst: UnsafeMutableRawPointer

    public init(input: PixelLayout, src: UnsafeRawPointer, output: PixelLayout, dst: UnsafeMutableRawPointer) {
        self.input = input; self.output = output; self.src = src; self.dst = dst
    }

    public func readRows(_ first: Int, _ count: Int, columns: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws {
        for r in 0..<count { input.toRGB(src + (first + r) * input.stride, buffer + r * columns.count * 3, columns: columns) }
    }

    public func writeRows(_ first: Int, _ count: Int, columns: Range<Int>, from buffer: UnsafePointer<Float>) throws {
        for r in 0..<count {
            output.fromRGB(buffer + r * columns.count * 3, dst + (first + r) * output.stride, alphaFrom: src + (first + r) * input.stride,
                           input, columns: columns)
        }
    }
}
