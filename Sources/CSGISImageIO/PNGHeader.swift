import Foundation

/// What a PNG's signature and IHDR chunk say (33 bytes), enough to plan how to read it.
/// `channels` is IHDR's colour type's; a tRNS chunk (after IHDR) can add an alpha channel
/// that the decoders then expand to.
struct PNGHeader {
    let width: Int, height: Int, bytesPerSample: Int, channels: Int, interlaced: Bool

    init(_ b: [UInt8]) throws {
        guard b.count >= 33 else { throw ImageError.truncated("PNG ends inside its header (\(b.count) bytes)") }
        // A text-mode transfer changes the signature's line ends: say so rather than "no IHDR".
        guard PNGCodec.isPNG(Array(b[0..<8])) else {
            throw ImageError.badHeader("PNG signature is damaged (" + b[0..<8].map { String(format: "%02x", $0) }.joined(separator: " ")
                                       + "; a text-mode copy changes its line ends)")
        }
        guard b[12...15].elementsEqual("IHDR".utf8) else { throw ImageError.badHeader("PNG does not start with an IHDR chunk") }
        func be32(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        width = be32(16); height = be32(20)
        bytesPerSample = b[24] == 16 ? 2 : 1
        channels = [0: 1, 2: 3, 3: 3, 4: 2, 6: 4][Int(b[25])] ?? 4
        interlaced = b[28] != 0
    }
}
