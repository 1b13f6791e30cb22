/// How the scheduler reaches an image: row sources and sinks (in order) and random-access
/// images (by column range), with the adapters between them and in-memory ones.

/// Supplies an image's rows in order, top to bottom: RGB floats, `width * 3` per row.
public protocol RowSource: AnyObject {
    /// Fills `count` rows (count * width * 3 floats) into `buffer`.
    func readRows(_ count: Int, into buffer: UnsafeMutablePointer<Float>) throws
}

/// Receives finished rows in order, top to bottom: RGB floats, `width * 3` per row.
public protocol RowSink: AnyObject {
    func writeRows(_ count: Int, from buffer: UnsafePointer<Float>) throws
}

/// An image that can be read and written in any order, by column range (the caller's
/// memory): the scheduler can then run tiles as strips of the full height, each streaming
/// its rows straight from and to the image, with no band of rows held between them.
public protocol RandomAccessImage: AnyObject {
    /// Fills rows [first, first + count) of `columns` (columns.count * 3 floats per row).
    func readRows(_ first: Int, _ count: Int, columns: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws
    /// Stores rows [first, first + count) of `columns` (columns.count * 3 floats per row).
    func writeRows(_ first: Int, _ count: Int, columns: Range<Int>, from buffer: UnsafePointer<Float>) throws
}

/// A random-access image read and written top to bottom, whole rows (for the paths that
/// stream whole rows: one pass per layer, one tile, pass-through).
final class SequentialRows: RowSource, RowSink {
    let image: RandomAccessImage, width: Int
    var read = 0, written = 0
    init(_ image: RandomAccessImage, width: Int) { self.image = image; self.width = width }
    func readRows(_ count: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        try image.readRows(read, count, columns: 0..<width, into: buffer)
        read += count
    }
    func writeRows(_ count: Int, from buffer: UnsafePointer<Float>) throws {
        try image.writeRows(written, count, columns: 0..<width, from: buffer)
        written += count
    }
}

/// A row source over an in-memory RGB float image.
public final class BufferSource: RowSource {
    private let image: RGBImage
    private var row = 0
    public init(_ image: RGBImage) { self.image = image }
    public func readRows(_ count: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        let rf = image.width * 3
        guard row + count <= image.height else { throw CSGISError.invalidImage("read past the last row") }
        image.pixels.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + row * rf, count: count * rf) }
        row += count
    }
}

/// A row sink collecting an in-memory RGB float image.
public final class BufferSink: RowSink {
    public private(set) var pixels: [Float] = []
    private let rowFloats: Int
    public init(width: Int, height: Int) {
        rowFloats = width * 3
        pixels.reserveCapacity(width * height * 3)
    }
    public func writeRows(_ count: Int, from buffer: UnsafePointer<Float>) throws {
        pixels.append(contentsOf: UnsafeBufferPointer(start: buffer, count: count * rowFloats))
    }
}
