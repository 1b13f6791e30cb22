/// An RGB image of 32-bit floats, interleaved (HWC), nominally in 0...1.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// width * height * 3 values, row-major, R G B per pixel.
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) throws {
        guard width > 0, height > 0 else { throw CSGISError.invalidImage("size \(width)x\(height) is empty") }
        guard pixels.count == width * height * 3 else {
            throw CSGISError.invalidImage("\(pixels.count) values for \(width)x\(height) RGB (expected \(width * height * 3))")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
