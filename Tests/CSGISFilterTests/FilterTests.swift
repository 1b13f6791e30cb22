import CSGISCore
@testable import CSGISFilter
import CSGISImageIO
import Foundation
import XCTest

/// The filter's logic without the executable: option parsing, format choice, PNG header
/// sniffing and whole runs in-process (strength 0 needs no model).
final class FilterTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgis-filter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testByteSizes() {
        XCTAssertEqual(FilterOptions.parseBytes("512M"), 512 << 20)
        XCTAssertEqual(FilterOptions.parseBytes("1.5g"), 3 << 29)
        XCTAssertEqual(FilterOptions.parseBytes(" 4GB "), 4 << 30)
        XCTAssertEqual(FilterOptions.parseBytes("65536"), 65536)
        XCTAssertEqual(FilterOptions.parseBytes("2K"), 2048)
        for bad in ["0", "-1M", "1e30G", "infG", "nanM", "12X", "", "M", "0.0000001K"] {
            XCTAssertNil(FilterOptions.parseBytes(bad), bad)
        }
    }

    func testFormatNamesAndExtensions() {
        XCTAssertEqual(FilterOptions.format(named: "PNG"), .png)
        XCTAssertEqual(FilterOptions.format(named: "pam"), .pam(tupleType: ""))
        for n in ["pnm", "ppm", "pgm"] { XCTAssertEqual(FilterOptions.format(named: n), .pnm(magic: "P6"), n) }
        XCTAssertNil(FilterOptions.format(named: "jpg"))
        var o = FilterOptions()
        XCTAssertNil(FilterJob(options: o).outputFormat, "stdout: like the input")
        o.output = "/x/out.PNG"
        XCTAssertEqual(FilterJob(options: o).outputFormat, .png)
        o.output = "/x/out.jpg"
        XCTAssertNil(FilterJob(options: o).outputFormat, "an unknown extension: like the input")
        o.output = "/x/out.png"; o.format = .pam(tupleType: "")
        XCTAssertEqual(FilterJob(options: o).outputFormat, .pam(tupleType: ""), "--format wins over the extension")
        // the input's flavour is kept within a family
        let j = FilterJob(options: o)
        XCTAssertEqual(j.formatFor(.pam(tupleType: ""), input: .pam(tupleType: "GRAYSCALE_ALPHA")), .pam(tupleType: "GRAYSCALE_ALPHA"))
        XCTAssertEqual(j.formatFor(.pnm(magic: "P6"), input: .pnm(magic: "P2")), .pnm(magic: "P2"))
        XCTAssertEqual(j.formatFor(.png, input: .pnm(magic: "P2")), .png)
    }

    func testWholeOrStreamedIsDecidedByThresholdAndBudget() throws {
        var o = FilterOptions()
        o.memory = 64 << 20
        o.strength = 0  // the plan needs no model then; the choice is the planner's all the same
        let j = FilterJob(options: o)
        func readsWhole(_ w: Int, _ h: Int, threshold: Int) throws -> Bool {
            let layout = try PixelLayout.samples(width: w, height: h, channels: 3, maxval: 65535)
            let plan = try j.makePlan(layout, access: .rows(), whole: j.wholeBytes(width: w, height: h, channels: 3, bytesPerSample: 1,
                                                                                     threshold: threshold)).1
            XCTAssertEqual(plan.mode, .passThrough)
            return plan.readsWhole
        }
        XCTAssertTrue(try readsWhole(100, 100, threshold: 1 << 20))
        XCTAssertFalse(try readsWhole(1000, 1000, threshold: 1 << 20), "over the threshold: streamed")
        XCTAssertFalse(try readsWhole(4000, 4000, threshold: 1 << 30), "over the budget: streamed")
        XCTAssertNil(j.wholeBytes(width: 1 << 40, height: 1 << 40, channels: 4, bytesPerSample: 2, threshold: 1 << 30),
                     "an overflowing size is never read whole")
    }

    /// Runs the job in-process on `input`'s bytes: (output bytes or nil, error).
    func run(_ input: [UInt8], _ configure: (inout FilterOptions) -> Void = { _ in }) -> (Data?, Error?) {
        let inURL = dir.appendingPathComponent("in-\(UUID().uuidString)"), outURL = dir.appendingPathComponent("out-\(UUID().uuidString).pam")
        try? Data(input).write(to: inURL)
        var o = FilterOptions()
        o.input = inURL.path; o.output = outURL.path; o.strength = 0; o.quiet = true; o.format = nil
        configure(&o)
        do {
            try FilterJob(options: o).run()
            return (try? Data(contentsOf: outURL), nil)
        } catch { return (FileManager.default.fileExists(atPath: outURL.path) ? Data() : nil, error) }
    }

    func testStrengthZeroRunsReturnTheInputExactly() throws {
        var pam = Array("P7\nWIDTH 3\nHEIGHT 2\nDEPTH 2\nMAXVAL 1000\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n".utf8)
        for i in 0..<12 { let v = i * 83; pam += [UInt8(v >> 8), UInt8(v & 0xff)] }
        for threshold in ["0", "1000000"] {  // streamed and whole
            setenv("CSGIS_STREAM_THRESHOLD", threshold, 1)
            defer { unsetenv("CSGIS_STREAM_THRESHOLD") }
            let (out, err) = run(pam)
            XCTAssertNil(err)
            XCTAssertEqual(out.map { [UInt8]($0) } ?? [], pam, "threshold \(threshold)")
        }
    }

    func testErrorsLeaveNoOutputFile() {
        for bad: [UInt8] in [Array("P6\n4 4\n255\n".utf8) + [1, 2, 3], Array("GIF89a".utf8), [0x89]] {
            for threshold in ["0", "1000000"] {
                setenv("CSGIS_STREAM_THRESHOLD", threshold, 1)
                defer { unsetenv("CSGIS_STREAM_THRESHOLD") }
                let (out, err) = run(bad)
                XCTAssertNotNil(err)
                XCTAssertNil(out, "no file is left for \(bad.prefix(4)), threshold \(threshold)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("out") || $0.hasPrefix(".") }, [])
    }
}
