import CPNG

/// The PNG chunks that say how to read the pixels and what the file is (gAMA, cHRM, sRGB,
/// iCCP, pHYs, tEXt, zTXt, iTXt, eXIf), kept as read so a PNG output carries them unchanged,
/// and bKGD, rewritten by the reader for the expanded samples (palette index to colour).
/// Other formats cannot hold them: `names` says what a conversion drops.
public struct PNGChunks: Equatable, Sendable {
    /// Per chunk: 4-byte name, 1 byte (1 = after the image data), 4-byte big-endian length, data.
    public var blob: [UInt8]

    public init(blob: [UInt8] = []) { self.blob = blob }

    init(copying p: UnsafePointer<UInt8>?, count: Int) {
        blob = p.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    }

    public var isEmpty: Bool { blob.isEmpty }

    /// The chunk names, in file order, each once.
    public var names: [String] {
        var out: [String] = [], pos = 0
        while pos + 9 <= blob.count {
            let name = String(decoding: blob[pos..<pos + 4], as: UTF8.self)
            if !out.contains(name) { out.append(name) }
            let len = blob[pos + 5..<pos + 9].reduce(0) { $0 << 8 | Int($1) }
            pos += 9 + len
        }
        return out
    }
}
