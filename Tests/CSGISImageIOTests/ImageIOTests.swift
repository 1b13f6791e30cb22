import Foundation
import FuzzSupport
import XCTest
@testable import CSGISImageIO

func read(_ bytes: [UInt8]) throws -> SampleImage { try ImageFile.read(ByteReader(bytes: bytes)) }
func read(_ s: String, data: [UInt8] = []) throws -> SampleImage { try read(Array(s.utf8) + data) }

func sample(width: Int, height: Int, channels: Int, maxval: Int, format: ImageFormat, seed: Int = 1) -> SampleImage {
    var g = seed
    let s = (0..<(width * height * channels)).map { _ -> UInt16 in g = (g &* 1103515245 &+ 12345) & 0x7fffffff; return UInt16(g % (maxval + 1)) }
    return SampleImage(width: width, height: height, channels: channels, maxval: maxval, samples: s, format: format)
}

final class NetpbmTests: XCTestCase {
    func testPAMEveryTupleTypeRoundTrips() throws {
        for (c, t) in [(1, "GRAYSCALE"), (2, "GRAYSCALE_ALPHA"), (3, "RGB"), (4, "RGB_ALPHA")] {
            for m in [255, 65535, 1023] {
                let img = sample(width: 7, height: 5, channels: c, maxval: m, format: .pam(tupleType: t))
                let bytes = try ImageFile.encode(img)
                XCTAssertTrue(String(decoding: bytes.prefix(80), as: UTF8.self).contains("TUPLTYPE \(t)"))
                XCTAssertEqual(try read(bytes), img, "\(t) maxval \(m)")
            }
        }
    }

    func testPNMBinaryAndASCIIRoundTrip() throws {
        for magic in ["P2", "P3", "P5", "P6"] {
            for m in [255, 65535, 7] {
                let c = magic == "P2" || magic == "P5" ? 1 : 3
                let img = sample(width: 9, height: 4, channels: c, maxval: m, format: .pnm(magic: magic))
                XCTAssertEqual(try read(try ImageFile.encode(img)), img, "\(magic) maxval \(m)")
            }
        }
    }

    func testHeaderCommentsAndWhitespace() throws {
        let img = try read("P5\n# a comment\n3 # width\n 2\n255\n", data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(img.width, 3); XCTAssertEqual(img.height, 2); XCTAssertEqual(img.samples, [1, 2, 3, 4, 5, 6])
        let pam = try read("P7\n# c\nWIDTH 2\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n", data: [9, 8])
        XCTAssertEqual(pam.samples, [9, 8])
        XCTAssertEqual(try read("P2 2 1 10 3 # c\n 10").samples, [3, 10])
    }

    func assertFails(_ bytes: [UInt8], _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(bytes), file: file, line: line) { e in
            guard let ie = e as? ImageError else { return XCTFail("\(e)", file: file, line: line) }
            for w in words { XCTAssertTrue(ie.description.contains(w), "'\(ie)' lacks '\(w)'", file: file, line: line) }
            XCTAssertFalse(ie.description.contains("\n"), "one line", file: file, line: line)
        }
    }
    func assertFails(_ s: String, data: [UInt8] = [], _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertFails(Array(s.utf8) + data, words, file: file, line: line)
    }

    func testBadInputsGiveClearErrors() {
        assertFails([], ["empty"])
        assertFails("P", ["1 byte"])
        assertFails("GIF89a", ["not a supported image"])
        assertFails("P9\n", ["not a supported image"])
        assertFails("P4\n1 1\n", ["PBM"])
        assertFails("P6\n1000000 1000000\n255\n", ["too large", "1000000x1000000"])
        assertFails("P6\n10 10\n0\n", ["maxval 0"])
        assertFails("P6\n10 10\n70000\n", ["maxval 70000"])
        assertFails("P6\n0 10\n255\n", ["no pixels"])
        assertFails("P6\nabc 10\n255\n", ["not a number"])
        assertFails("P6\n99999999999999999999 1\n255\n", ["not a number"])
        assertFails("P6\n4 4\n255\n", data: [1, 2, 3], ["truncated", "row 1 of 4"])
        assertFails("P5\n2 2\n100\n", data: [1, 200, 3, 4], ["exceeds maxval 100"])
        assertFails("P2\n2 1\n100\n5 x", ["unexpected character"])
        assertFails("P2\n2 1\n100\n5", ["truncated"])
        assertFails("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\n", ["ENDHDR"])
        assertFails("P7\nWIDTH 2\nDEPTH 3\nMAXVAL 255\nENDHDR\n", ["HEIGHT"])
        assertFails("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 5\nMAXVAL 255\nENDHDR\n", ["depth 5"])
    }

    func testPNMCannotHoldAlpha() {
        let img = sample(width: 2, height: 2, channels: 4, maxval: 255, format: .pam(tupleType: "RGB_ALPHA"))
        XCTAssertThrowsError(try ImageFile.encode(img, as: .pnm(magic: "P6"))) { XCTAssertTrue("\($0)".contains("PAM or PNG")) }
    }
}

final class PNGTests: XCTestCase {
    func testRoundTripEveryLayout() throws {
        for c in 1...4 { for m in [255, 65535] {
            let img = sample(width: 11, height: 6, channels: c, maxval: m, format: .png)
            let back = try read(try PNGCodec.encode(img))
            XCTAssertEqual(back, img, "channels \(c) maxval \(m)")
        } }
    }

    func testBrokenPNGs() throws {
        let good = try PNGCodec.encode(sample(width: 20, height: 20, channels: 3, maxval: 255, format: .png))
        var crc = good
        crc[good.count - 20] ^= 0xff  // inside the IDAT data: CRC mismatch
        XCTAssertThrowsError(try read(crc)) { XCTAssertTrue("\($0)".contains("PNG"), "\($0)") }
        XCTAssertThrowsError(try read(Array(good.prefix(good.count / 2)))) { XCTAssertTrue("\($0)".contains("PNG"), "\($0)") }
        var sig = good
        sig[1] = UInt8(ascii: "Q")
        XCTAssertThrowsError(try read(sig))
        var hdr = good
        hdr[16...19] = [0x7f, 0xff, 0xff, 0xff]  // width 2^31-1
        XCTAssertThrowsError(try read(hdr))
    }
}

/// Seeded mutations of the corpus (Tests/Fixtures/corpus; FuzzSupport): no input may crash
/// a parser, whole-image or streamed; every refusal is an ImageError.
final class ParserFuzzTests: XCTestCase {
    func testWholeImageMutationsNeverCrash() throws {
        let corpus = try Mutator.corpus { !$0.hasSuffix(".safetensors") }
        XCTAssertGreaterThanOrEqual(corpus.count, 8)
        let (ok, bad, n) = Mutator.run(corpus: corpus, perSeed: 400, seed: 20221011) { d in
            do { _ = try read(d); return true } catch is ImageError { return false } catch { XCTFail("\(error)"); return false }
        }
        print("whole-image parsers: \(n) mutations, \(ok) decoded, \(bad) refused")
        XCTAssertGreaterThan(bad, 0)
        XCTAssertGreaterThan(ok, 0)
    }

    func testStreamedPNGMutationsNeverCrash() throws {
        let corpus = try Mutator.corpus { $0.hasSuffix(".png") }.filter { $0.count > 33 && $0[28] == 0 }  // non-interlaced
        XCTAssertGreaterThanOrEqual(corpus.count, 3)
        let (ok, bad, n) = Mutator.run(corpus: corpus, perSeed: 300, seed: 7) { d in
            do {
                let r = try PNGRowReader(input: ByteReader(bytes: d), prefix: [])
                var row = [UInt16](repeating: 0, count: r.width * r.channels)
                for _ in 0..<r.height { try row.withUnsafeMutableBufferPointer { try r.readRow(into: $0.baseAddress!) } }
                return true
            } catch is ImageError { return false } catch { XCTFail("\(error)"); return false }
        }
        print("streamed PNG reader: \(n) mutations, \(ok) decoded, \(bad) refused")
        XCTAssertGreaterThan(bad, 0)
    }
}

/// Opening an input: the format sniffed once, its header read, nothing of its pixels.
final class ImageInputTests: XCTestCase {
    func ihdr(width: UInt32, height: UInt32, depth: UInt8, colour: UInt8, interlace: UInt8) -> [UInt8] {
        var b: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13] + Array("IHDR".utf8)
        b += withUnsafeBytes(of: width.bigEndian) { Array($0) } + withUnsafeBytes(of: height.bigEndian) { Array($0) }
        return b + [depth, colour, 0, 0, interlace, 0, 0, 0, 0]
    }

    func testPNGHeader() throws {
        let h = try PNGHeader(ihdr(width: 300, height: 7, depth: 16, colour: 4, interlace: 1))
        XCTAssertEqual([h.width, h.height, h.bytesPerSample, h.channels], [300, 7, 2, 2])
        XCTAssertTrue(h.interlaced)
        XCTAssertEqual(try PNGHeader(ihdr(width: 1, height: 1, depth: 4, colour: 3, interlace: 0)).channels, 3, "a palette reads as RGB")
        var damaged = ihdr(width: 1, height: 1, depth: 8, colour: 2, interlace: 0)
        damaged[4] = 0x0d; damaged[5] = 0x0d  // a text-mode copy
        XCTAssertThrowsError(try PNGHeader(damaged)) { XCTAssertTrue("\($0)".contains("signature is damaged"), "\($0)") }
        XCTAssertThrowsError(try PNGHeader(Array(damaged.prefix(20)))) { XCTAssertTrue("\($0)".contains("ends inside its header"), "\($0)") }
        var notIHDR = ihdr(width: 1, height: 1, depth: 8, colour: 2, interlace: 0)
        notIHDR[12] = UInt8(ascii: "g")
        XCTAssertThrowsError(try PNGHeader(notIHDR)) { XCTAssertTrue("\($0)".contains("IHDR"), "\($0)") }
    }


    func testOpenSaysHowTheImageCanBeRead() throws {
        let png = try ImageInput.open(ByteReader(bytes: ihdr(width: 300, height: 7, depth: 16, colour: 4, interlace: 1)))
        XCTAssertEqual([png.width, png.height, png.channels, png.bytesPerSample], [300, 7, 2, 2])
        XCTAssertEqual(png.format, .png)
        XCTAssertFalse(png.streamable, "interlaced: whole only")
        let ppm = Array("P6\n3 2\n255\n".utf8) + [UInt8](repeating: 7, count: 18)
        let fromMemory = try ImageInput.open(ByteReader(bytes: ppm))
        XCTAssertTrue(fromMemory.streamable)
        XCTAssertNil(fromMemory.samplesInFile, "no file to read in place")
        XCTAssertEqual(try fromMemory.readWhole().samples, [UInt16](repeating: 7, count: 18))
        // in a regular file holding every row: the samples can be read where they lie
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csgis-input-\(getpid()).ppm").path
        defer { unlink(path) }
        for (bytes, inPlace) in [(ppm, true), (Array(ppm.dropLast()), false)] {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            let f = try ImageInput.open(ByteReader(fd: fd, closeOnDeinit: false))
            XCTAssertEqual(f.samplesInFile?.offset, inPlace ? 11 : nil, "a truncated file is streamed, and its reader reports it")
            XCTAssertEqual(f.samplesInFile?.maxval, inPlace ? 255 : nil)
        }
        XCTAssertThrowsError(try ImageInput.open(ByteReader(bytes: [0x42, 0x4d]))) { XCTAssertTrue("\($0)".contains("0x42 0x4d"), "\($0)") }
    }
}
