import Foundation

/// A parsed PAM/PGM/PPM header.
public struct NetpbmHeader: Equatable {
    public var format: ImageFormat
    public var width: Int, height: Int, channels: Int, maxval: Int
    public var binary: Bool { if case let .pnm(m) = format { return m == "P5" || m == "P6" } else { return true } }
    public var bytesPerSample: Int { maxval < 256 ? 1 : 2 }
    /// Bytes of pixel data after the header (binary formats).
    public var dataBytes: Int { width * height * channels * bytesPerSample }
}

/// Reads PAM (P7) and PGM/PPM (P2, P3, P5, P6) headers and rows from a byte stream.
public final class NetpbmReader {
    public let header: NetpbmHeader
    private let input: ByteReader
    private var rowsRead = 0
    private var rowBytes: [UInt8]

    /// Parses the header; `magic` holds the two bytes already read from `input`.
    public init(input: ByteReader, magic: (UInt8, UInt8)) throws {
        self.input = input
        guard magic.0 == UInt8(ascii: "P") else { throw ImageError.badMagic(NetpbmReader.describe(magic)) }
        switch magic.1 {
        case UInt8(ascii: "7"): header = try NetpbmReader.parsePAM(input)
        case UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "5"), UInt8(ascii: "6"):
            header = try NetpbmReader.parsePNM(input, kind: magic.1)
        case UInt8(ascii: "1"), UInt8(ascii: "4"):
            throw ImageError.unsupported("PBM bitmaps (P1/P4) are not supported; convert to PGM or PAM")
        default: throw ImageError.badMagic(NetpbmReader.describe(magic))
        }
        rowBytes = [UInt8](repeating: 0, count: header.binary ? header.width * header.channels * header.bytesPerSample : 0)
    }

    static func describe(_ m: (UInt8, UInt8)) -> String {
        let s = [m.0, m.1].map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
        return "starts with \"\(s)\""
    }

    static func validate(width: Int, height: Int, maxval: Int, channels: Int) throws {
        guard width > 0, height > 0 else { throw ImageError.badHeader("size \(width)x\(height) has no pixels") }
        guard width <= ImageLimits.maxDimension, height <= ImageLimits.maxDimension, width * height <= ImageLimits.maxPixels else {
            throw ImageError.tooLarge("\(width)x\(height) is over the limit (\(ImageLimits.maxDimension) per side, \(ImageLimits.maxPixels) pixels)")
        }
        guard (1...65535).contains(maxval) else { throw ImageError.badHeader("maxval \(maxval) is not in 1...65535") }
        guard (1...4).contains(channels) else { throw ImageError.unsupported("depth \(channels); 1 to 4 channels are supported") }
    }

    /// A decimal number with a sane bound, from header text.
    static func number(_ s: Substring, _ what: String) throws -> Int {
        guard !s.isEmpty, s.count <= 12, s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(s) else {
            throw ImageError.badHeader("\(what) '\(s.prefix(20))' is not a number")
        }
        return v
    }

    static func parsePAM(_ r: ByteReader) throws -> NetpbmHeader {
        guard let nl = try r.next(), nl == 10 || nl == 13 || nl == 32 else { throw ImageError.badHeader("P7 must be followed by a newline") }
        var fields: [String: String] = [:], tuple: [String] = []
        var line: [UInt8] = []
        var total = 0
        while true {
            guard let b = try r.next() else { throw ImageError.truncated("PAM header ended before ENDHDR") }
            total += 1
            if total > 1 << 16 { throw ImageError.badHeader("PAM header is over 64 KiB (no ENDHDR?)") }
            if b != 10 { line.append(b); continue }
            // (whitespacesAndNewlines: a CR before the LF, as Windows tools write, is not part of the line)
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            line.removeAll()
            if text.isEmpty || text.hasPrefix("#") { continue }
            if text == "ENDHDR" { break }
            let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            let key = String(parts[0]), value = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
            if key == "TUPLTYPE" { tuple.append(value) } else { fields[key] = value }
        }
        for k in ["WIDTH", "HEIGHT", "DEPTH", "MAXVAL"] where fields[k] == nil {
            throw ImageError.badHeader("PAM header has no \(k)")
        }
        let w = try number(Substring(fields["WIDTH"]!), "WIDTH"), h = try number(Substring(fields["HEIGHT"]!), "HEIGHT")
        let d = try number(Substring(fields["DEPTH"]!), "DEPTH"), m = try number(Substring(fields["MAXVAL"]!), "MAXVAL")
        try validate(width: w, height: h, maxval: m, channels: d)
        let tt = tuple.joined(separator: " ")
        let depths = ["GRAYSCALE": 1, "BLACKANDWHITE": 1, "GRAYSCALE_ALPHA": 2, "BLACKANDWHITE_ALPHA": 2, "RGB": 3, "RGB_ALPHA": 4]
        if let want = depths[tt], want != d {
            throw ImageError.badHeader("PAM TUPLTYPE \(tt) needs DEPTH \(want), the header says \(d)")
        }
        return NetpbmHeader(format: .pam(tupleType: tt), width: w, height: h, channels: d, maxval: m)
    }

    /// Next whitespace-separated token of a PNM header, skipping comments.
    static func token(_ r: ByteReader, _ what: String) throws -> Substring {
        var t: [UInt8] = []
        while true {
            guard let b = try r.next() else {
                if t.isEmpty { throw ImageError.truncated("header ended before its \(what)") }
                return Substring(String(decoding: t, as: UTF8.self))
            }
            if b == UInt8(ascii: "#") {
                while let c = try r.next(), c != 10, c != 13 {}
                if !t.isEmpty { return Substring(String(decoding: t, as: UTF8.self)) }
                continue
            }
            if b == 32 || (9...13).contains(b) {
                if !t.isEmpty { return Substring(String(decoding: t, as: UTF8.self)) }
                continue
            }
            t.append(b)
            if t.count > 20 { throw ImageError.badHeader("\(what) is not a number") }
        }
    }

    static func parsePNM(_ r: ByteReader, kind: UInt8) throws -> NetpbmHeader {
        let w = try number(token(r, "width"), "width"), h = try number(token(r, "height"), "height")
        let m = try number(token(r, "maxval"), "maxval")  // the token ends at the single whitespace before data
        let grey = kind == UInt8(ascii: "2") || kind == UInt8(ascii: "5")
        try validate(width: w, height: h, maxval: m, channels: grey ? 1 : 3)
        return NetpbmHeader(format: .pnm(magic: "P" + String(UnicodeScalar(kind))), width: w, height: h, channels: grey ? 1 : 3, maxval: m)
    }

    /// Reads the next row (width * channels samples); checks every sample against maxval.
    public func readRow(into out: UnsafeMutablePointer<UInt16>) throws {
        let n = header.width * header.channels, maxval = header.maxval
        let what = "row \(rowsRead + 1) of \(header.height)"
        if header.binary {
            try rowBytes.withUnsafeMutableBytes { try input.readExactly($0.count, into: $0.baseAddress!, what: what) }
            var bad = -1
            rowBytes.withUnsafeBufferPointer { b in
                if header.bytesPerSample == 1 {
                    for i in 0..<n { out[i] = UInt16(b[i]) }
                } else {
                    for i in 0..<n { out[i] = UInt16(b[2 * i]) << 8 | UInt16(b[2 * i + 1]) }
                }
                if maxval != 255 && maxval != 65535 { for i in 0..<n where Int(out[i]) > maxval { bad = i; break } }
            }
            if bad >= 0 { throw ImageError.corrupt("sample \(out[bad]) in \(what) exceeds maxval \(maxval)") }
        } else {
            for i in 0..<n {
                var v = 0, digits = 0
                while true {
                    guard let b = try input.next() else {
                        if digits > 0 { break }
                        throw ImageError.truncated("\(what): expected \(n) samples, got \(i)")
                    }
                    if (48...57).contains(b) {
                        v = v * 10 + Int(b - 48); digits += 1
                        if v > maxval { throw ImageError.corrupt("sample in \(what) exceeds maxval \(maxval)") }
                    } else if b == 32 || (9...13).contains(b) {
                        if digits > 0 { break }
                    } else if b == UInt8(ascii: "#"), digits == 0 {
                        while let c = try input.next(), c != 10, c != 13 {}
                    } else {
                        throw ImageError.corrupt("unexpected character in \(what) of ASCII data")
                    }
                }
                out[i] = UInt16(v)
            }
        }
        rowsRead += 1
    }
}

/// Writes PAM/PGM/PPM: the header once, then rows.
public final class NetpbmWriter: RowWriter {
    public let format: ImageFormat
    public let width: Int, height: Int, channels: Int, maxval: Int
    private let emit: (UnsafeRawBufferPointer) throws -> Void
    private var bytes: [UInt8] = []

    /// Formats that cannot hold the image's channels are refused with a clear message.
    public init(format: ImageFormat, width: Int, height: Int, channels: Int, maxval: Int,
                emit: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        self.format = format; self.width = width; self.height = height; self.channels = channels; self.maxval = maxval
        self.emit = emit
        var h: String
        switch format {
        case let .pam(tt):
            let std = [1: "GRAYSCALE", 2: "GRAYSCALE_ALPHA", 3: "RGB", 4: "RGB_ALPHA"][channels]!
            let t = tt.isEmpty ? std : tt
            h = "P7\nWIDTH \(width)\nHEIGHT \(height)\nDEPTH \(channels)\nMAXVAL \(maxval)\nTUPLTYPE \(t)\nENDHDR\n"
        case let .pnm(magic):
            guard channels == 1 || channels == 3 else {
                throw ImageError.unsupported("\(format.name) cannot hold \(channels) channels (alpha); write PAM or PNG")
            }
            let grey = channels == 1
            let m = magic == "P2" || magic == "P3" ? (grey ? "P2" : "P3") : (grey ? "P5" : "P6")
            h = "\(m)\n\(width) \(height)\n\(maxval)\n"
        case .png:
            throw ImageError.unsupported("NetpbmWriter does not write PNG")
        }
        try Array(h.utf8).withUnsafeBytes { try emit($0) }
    }

    private var ascii: Bool { if case let .pnm(m) = format { return m == "P2" || m == "P3" } else { return false } }

    public func writeRow(_ s: UnsafePointer<UInt16>) throws {
        let n = width * channels
        bytes.removeAll(keepingCapacity: true)
        if ascii {
            for i in 0..<n {
                bytes.append(contentsOf: String(s[i]).utf8)
                bytes.append(i == n - 1 || i % 12 == 11 ? 10 : 32)
            }
        } else if maxval < 256 {
            for i in 0..<n { bytes.append(UInt8(truncatingIfNeeded: s[i])) }
        } else {
            for i in 0..<n { bytes.append(UInt8(s[i] >> 8)); bytes.append(UInt8(s[i] & 0xff)) }
        }
        try bytes.withUnsafeBytes { try emit($0) }
    }

    public func finish() throws {}
}
