import Foundation
import XCTest

/// What the user's PNG says about its pixels survives the filter: the colour chunks (gAMA,
/// cHRM, iCCP), density (pHYs), text (tEXt, zTXt, iTXt) and Exif come out byte for byte, in
/// place; bKGD follows the expanded samples; a format that cannot hold them gets a one-line
/// note on stderr (not with --quiet).
final class MetadataTests: XCTestCase {
    var dir: URL!
    let m = "--model '\(Harness.tinyModel)'"

    override func setUpWithError() throws {
        dir = try Harness.tempDir()
        let r = try Harness.sh("python3 '\(Harness.repo.path)/Tests/Scripts/make-png-with-metadata.py' '\(dir.path)/in.png' 300 200")
        XCTAssertEqual(r.status, 0, r.stderr)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The chunks of a PNG file, in order: (name, whole chunk bytes).
    func chunks(_ url: URL) throws -> [(String, Data)] {
        let d = try Data(contentsOf: url)
        var out: [(String, Data)] = [], p = 8
        while p + 12 <= d.count {
            let len = d[p..<p + 4].reduce(0) { $0 << 8 | Int($1) }
            out.append((String(decoding: d[p + 4..<p + 8], as: UTF8.self), d.subdata(in: p..<p + 12 + len)))
            p += 12 + len
        }
        return out
    }

    func metadata(_ url: URL) throws -> [(String, Data)] { try chunks(url).filter { !["IHDR", "IDAT", "IEND"].contains($0.0) } }

    func testWholeImageKeepsEveryChunkInPlace() throws {
        let out = dir.appendingPathComponent("out.png")
        let r = try Harness.sh("\"$CSGIS\" \(m) '\(dir.path)/in.png' '\(out.path)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try metadata(dir.appendingPathComponent("in.png")), b = try metadata(out)
        XCTAssertEqual(a.map(\.0), ["gAMA", "cHRM", "iCCP", "pHYs", "tEXt", "zTXt", "iTXt", "eXIf", "tEXt"])
        XCTAssertEqual(b.map(\.0), a.map(\.0))
        XCTAssertEqual(b.map(\.1), a.map(\.1), "chunks are copied byte for byte")
        let names = try chunks(out).map(\.0)
        XCTAssertLessThan(names.firstIndex(of: "iCCP")!, names.firstIndex(of: "IDAT")!)
        XCTAssertGreaterThan(names.firstIndex(of: "eXIf")!, names.lastIndex(of: "IDAT")!)
        // ImageMagick reads the colour and text back
        let v = try Harness.sh("identify -verbose '\(out.path)' 2>/dev/null")
        let s = String(decoding: v.stdout, as: UTF8.self)
        XCTAssertTrue(s.contains("Gamma: 0.45455") && s.contains("csgis metadata test") && s.contains("compressed comment"), s)
    }

    func testStreamedPNGKeepsEveryChunkToo() throws {
        let out = dir.appendingPathComponent("out.png")
        let r = try Harness.sh("\"$CSGIS\" \(m) - '\(out.path)' < '\(dir.path)/in.png'", env: ["CSGIS_STREAM_THRESHOLD": "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try metadata(dir.appendingPathComponent("in.png")), b = try metadata(out)
        XCTAssertEqual(b.map(\.0), a.map(\.0))
        XCTAssertEqual(b.map(\.1), a.map(\.1))
    }

    func testOtherFormatsNoteWhatTheyDrop() throws {
        let r = try Harness.sh("\"$CSGIS\" \(m) '\(dir.path)/in.png' '\(dir.path)/out.pam'")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("note") }.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("iCCP") && r.stderr.contains("tEXt"), r.stderr)
        let q = try Harness.sh("\"$CSGIS\" \(m) --quiet '\(dir.path)/in.png' '\(dir.path)/out2.pam'")
        XCTAssertEqual(q.status, 0)
        XCTAssertEqual(q.stderr, "")
    }

    /// The readers expand palettes and low-bit grey, so bKGD is rewritten to match: ImageMagick
    /// reads the same background colour from the output as from the input, whole or streamed.
    func testBackgroundColourFollowsTheExpandedSamples() throws {
        let expected: [String: [UInt8]] = [  // the output's bKGD data
            "palette8": [0, 32, 0, 223, 0, 80],  // palette entry 2
            "grey2": [0, 170], "grey2-trns": [0, 170],  // 2 of 3, scaled to 8 bits
            "rgb16": [0x03, 0xe8, 0x75, 0x30, 0xff, 0xff],  // unchanged
        ]
        func background(_ url: URL) throws -> String {
            let v = try Harness.sh("identify -verbose '\(url.path)' 2>/dev/null | grep 'Background color'")
            return String(decoding: v.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for (kind, data) in expected.sorted(by: { $0.key < $1.key }) {
            let input = dir.appendingPathComponent("\(kind).png")
            let g = try Harness.sh("python3 '\(Harness.repo.path)/Tests/Scripts/make-png-with-bkgd.py' '\(input.path)' \(kind)")
            XCTAssertEqual(g.status, 0, g.stderr)
            for threshold in ["0", "1000000000"] {  // streamed and whole
                let out = dir.appendingPathComponent("\(kind)-\(threshold)-out.png")
                let r = try Harness.sh("\"$CSGIS\" --strength 0 '\(input.path)' '\(out.path)'", env: ["CSGIS_STREAM_THRESHOLD": threshold])
                XCTAssertEqual(r.status, 0, r.stderr)
                let b = try metadata(out).filter { $0.0 == "bKGD" }
                XCTAssertEqual(b.count, 1, kind)
                XCTAssertEqual(b.first.map { [UInt8]($0.1.dropFirst(8).dropLast(4)) }, data, kind)
                let want = try background(input)
                XCTAssertTrue(want.hasPrefix("Background color:"), want)
                XCTAssertEqual(try background(out), want, "\(kind), stream threshold \(threshold)")
            }
        }
    }
}
