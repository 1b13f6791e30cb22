import CSGISCore
import CSGISImageIO
import Foundation
import XCTest

/// The filter against hostile and careless inputs (the cases of the hardening issue): each
/// must end with a one-line message and a status in 1...127, nothing on stdout, bounded
/// memory and nothing left beside the destination. Inputs are made here; nothing large is
/// committed.
final class HostileInputTests: XCTestCase {
    var dir: URL!
    let m = "--model '\(Harness.tinyModel)' --quiet"

    override func setUpWithError() throws { dir = try Harness.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Runs the filter under /usr/bin/time: (result, peak RSS in MB).
    func run(_ args: String, stdin: Data = Data()) throws -> (Harness.Result, Double) {
        let rss = dir.appendingPathComponent("rss-\(UUID().uuidString)")
        let r = try Harness.sh("/usr/bin/time -q -f %M -o '\(rss.path)' \"$CSGIS\" \(args)", stdin: stdin)
        let kb = Double((try? String(contentsOf: rss, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
        try? FileManager.default.removeItem(at: rss)
        return (r, kb / 1024)
    }

    func assertRefused(_ args: String, stdin: Data = Data(), _ phrase: String, maxRSS: Double = 512,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let (r, mb) = try run(args, stdin: stdin)
        XCTAssertTrue((1...127).contains(r.status), "\(args): status \(r.status)", file: file, line: line)
        XCTAssertEqual(r.stdout.count, 0, "\(args): nothing on stdout", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): one line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.lowercased().contains(phrase.lowercased()), "\(args): '\(phrase)' not in \(r.stderr)", file: file, line: line)
        XCTAssertLessThan(mb, maxRSS, "\(args): peak RSS \(mb) MB", file: file, line: line)
    }

    let tiny = Data("P6\n2 2\n255\n".utf8) + Data(repeating: 100, count: 12)

    func testOptionsOutOfRangeAreOneLineErrors() throws {
        for (args, phrase) in [("--strength -1", "strength"), ("--strength=-0.5", "strength"), ("--strength nan", "strength"),
                               ("--threads 100000", "threads"), ("--threads 2147483648", "threads"), ("--threads -3", "threads"),
                               ("--memory 1e30G", "memory"), ("--memory infG", "memory"), ("--memory 1K", "less than 1M"),
                               ("--memory 0.0001K", "memory"), ("--tile 1", "at least 32"), ("--precision fp64", "precision")] {
            try assertRefused("\(m) \(args)", stdin: tiny, phrase)
        }
    }

    func testWeightsThatWouldCrashAreRefused() throws {
        // a shape whose element count overflows, and a NaN bias
        let header = #"{"x":{"dtype":"F32","shape":[2147483647,3],"data_offsets":[0,12]}}"#
        var st = Data(withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }) + Data(header.utf8) + Data(count: 12)
        let overflow = dir.appendingPathComponent("overflow.safetensors")
        try st.write(to: overflow)
        try assertRefused("--model '\(overflow.path)' --quiet", stdin: tiny, "shape")
        st = try Data(contentsOf: URL(fileURLWithPath: Harness.tinyModel))
        let n = Int(st.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let json = try JSONSerialization.jsonObject(with: st.subdata(in: 8..<(8 + n))) as! [String: Any]
        let bias = (json["refine.9.bias"] ?? json.first { $0.key.hasSuffix(".bias") }!.value) as! [String: Any]
        let off = 8 + n + ((bias["data_offsets"] as! [Int])[0])
        st.replaceSubrange(off..<(off + 4), with: [0x00, 0x00, 0xc0, 0x7f])  // quiet NaN, little-endian
        let nan = dir.appendingPathComponent("nan.safetensors")
        try st.write(to: nan)
        try assertRefused("--model '\(nan.path)' --quiet", stdin: tiny, "finite")
        try assertRefused("--model /dev/null --quiet", stdin: tiny, "not a regular file")
        try assertRefused("--model '\(dir.path)' --quiet", stdin: tiny, "directory")
    }

    func testHeadersAreNotTrustedForAllocation() throws {
        let short = Data(count: 100)
        try assertRefused(m, stdin: Data("P6\n20000 20000\n255\n".utf8) + short, "truncated")
        try assertRefused(m, stdin: Data("P6\n9000 9000\n255\n".utf8) + short, "truncated")
        try assertRefused(m, stdin: Data("P7\nWIDTH 15000\nHEIGHT 15000\nDEPTH 4\nMAXVAL 65535\nENDHDR\n".utf8) + short, "truncated")
        // a PNG whose text chunk claims 2 GB
        var png = Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        png += Self.chunk("IHDR", [0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0])
        png += Data([0x7f, 0xff, 0xff, 0xff]) + Data("tEXt".utf8) + Data("Comment\0abc".utf8)
        try assertRefused(m, stdin: png, "PNG")
    }

    /// PngSuite's corrupt-signature cases (xs4n0g01, xs7n0g01, xcrn0g04): the damage is named.
    func testDamagedPNGSignaturesAreNamed() throws {
        let ihdr = Self.chunk("IHDR", [0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0])
        for sig in [[0x89, 0x50, 0x4e, 0x67, 0x0d, 0x0a, 0x1a, 0x0a], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x20, 0x0a],
                    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0d, 0x0a, 0x1a]] as [[UInt8]] {
            try assertRefused(m, stdin: Data(sig) + ihdr, "signature is damaged")
        }
        try assertRefused(m, stdin: Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) + Self.chunk("gAMA", [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                          "does not start with an IHDR")
        try assertRefused(m, stdin: Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]), "PNG ends inside its header")
    }

    func testTheBudgetIsCheckedBeforeDecoding() throws {
        let png = dir.appendingPathComponent("big.png")
        XCTAssertEqual(try Harness.sh("convert -size 6000x6000 xc:gray40 -depth 8 -define png:color-type=0 '\(png.path)'").status, 0)
        try assertRefused("\(m) --precision fp32 --memory 1M '\(png.path)'", "at least", maxRSS: 64)  // 2M: strips over a spool fit
    }

    func testNetpbmHeaderVariants() throws {
        let crlf = Data("P7\r\nWIDTH 2\r\nHEIGHT 1\r\nDEPTH 3\r\nMAXVAL 255\r\nTUPLTYPE RGB\r\nENDHDR\r\n".utf8) + Data([1, 2, 3, 4, 5, 6])
        let (r, _) = try run("\(m) --strength 0", stdin: crlf)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Harness.decode(r.stdout).samples, [1, 2, 3, 4, 5, 6])
        try assertRefused("\(m) --strength 0", stdin: Data("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n".utf8) + Data(count: 4),
                          "TUPLTYPE RGB needs DEPTH 3")
    }

    func testOutputProblemsAreNamed() throws {
        let folder = dir.appendingPathComponent("folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try assertRefused("\(m) - '\(folder.path)'", stdin: tiny, "is a directory")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    /// A streamed input that breaks off in its first band leaves stdout empty (the header is
    /// held until the first rows are ready).
    func testEarlyStreamErrorsLeaveStdoutEmpty() throws {
        var pam = Data("P7\nWIDTH 300\nHEIGHT 400\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n".utf8)
        pam += Data(repeating: 77, count: 300 * 3 * 10)
        let r = try Harness.sh("\"$CSGIS\" \(m)", stdin: pam, env: ["CSGIS_STREAM_THRESHOLD": "0"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout.count, 0, "header held back")
        XCTAssertTrue(r.stderr.contains("truncated"), r.stderr)
    }

    /// SIGINT, SIGTERM and SIGKILL during a file output leave nothing beside the destination.
    func testInterruptionsLeaveNothingBehind() throws {
        let input = dir.appendingPathComponent("in.ppm")
        XCTAssertEqual(try Harness.sh("convert -size 1500x1500 plasma: -depth 8 '\(input.path)'").status, 0)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let base = Harness.repo.appendingPathComponent("models/csgis-base.safetensors").path
        for sig in ["INT", "TERM", "KILL"] {
            // set -m: with job control a background job keeps SIGINT (bash otherwise ignores it there)
            let r = try Harness.sh("""
                set -m; "$CSGIS" --quiet --model '\(base)' --precision fp32 --memory 256M '\(input.path)' '\(out.path)/r.ppm' & pid=$!
                sleep 2; kill -\(sig) $pid; wait $pid; echo "status $?"
                """)
            XCTAssertTrue(String(decoding: r.stdout, as: UTF8.self).contains("status"), r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "SIG\(sig): nothing left")
        }
    }

    static func chunk(_ type: String, _ body: [UInt8]) -> Data {
        let t = Array(type.utf8)
        var crc: UInt32 = 0xffff_ffff
        for b in t + body {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xedb8_8320 & (0 &- (crc & 1))) }
        }
        crc = ~crc
        let be = { (v: UInt32) in [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        return Data(be(UInt32(body.count)) + t + body + be(crc))
    }
}
