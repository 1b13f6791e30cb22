import XCTest
@testable import CSGISCore

/// A row stream too wide for the budget is spooled to an unnamed temporary file and run in
/// full-height strips (`LayoutRows.smooth`): the same bytes as a run with room to spare,
/// nothing left on disk, and bands again when no spool can be made.
final class SpoolTests: XCTestCase {
    let (w, h) = (640, 120)
    // u16 RGBA with padded rows in, u8 RGBA out: the layouts' conversions and alpha copy too
    lazy var input = try! PixelLayout(width: w, height: h, channels: 4, alpha: 3, sample: .u16, stride: w * 8 + 6)
    lazy var output = try! PixelLayout(width: w, height: h, channels: 4, alpha: 3, sample: .u8)
    lazy var pixels: [UInt8] = {
        let img = try! Fixtures.texturedImage(width: w, height: h)
        var raw = [UInt8](repeating: 0, count: input.stride * h)
        for y in 0..<h { for x in 0..<w { for c in 0..<4 {
            let v = c < 3 ? UInt16(min(max(img.pixels[(y * w + x) * 3 + c], 0), 1) * 65535) : UInt16(truncatingIfNeeded: x * 97 + y * 13)
            let o = y * input.stride + (x * 4 + c) * 2
            raw[o] = UInt8(v & 0xff); raw[o + 1] = UInt8(v >> 8)
        } } }
        return raw
    }()

    /// One run: the output bytes and the order of the calls ("r" read, "w" write).
    func run(_ t: Scheduler, strength: Float = 1, shouldStop: @escaping () -> Bool = { false },
             progress: ((SmoothingProgress) -> Bool)? = nil, file: InputFile? = nil,
             duringWrite: (() -> Void)? = nil) throws -> (bytes: [UInt8], calls: String) {
        var out = [UInt8](repeating: 0, count: output.stride * h)
        var calls = ""
        let src = pixels, inS = input.stride, outS = output.stride
        let plan = try t.plan(width: w, height: h, access: LayoutRows.access(input: input, output: output, file: file), strength: strength)
        try LayoutRows.smooth(plan, t, input: input, output: output, read: { first, count, rows in
            calls += "r"
            src.withUnsafeBytes { rows.copyMemory(from: $0.baseAddress! + first * inS, byteCount: count * inS) }
        }, write: { first, count, rows in
            calls += "w"
            duringWrite?()
            out.withUnsafeMutableBytes { ($0.baseAddress! + first * outS).copyMemory(from: rows, byteCount: count * outS) }
        }, file: file, progress: progress, shouldStop: shouldStop)
        return (out, calls)
    }

    /// The smallest budget (16 KB steps) at which a stream is spooled into strips while bands
    /// would fit too, at a higher cost.
    func spoolingBudget(_ model: CSGISModel) throws -> Int {
        for kb in stride(from: 1024, to: 64 << 10, by: 16) {
            let t = try Scheduler(model: model, precision: .fp32, memoryBudget: kb << 10)
            let overhead = LayoutRows.rowOverhead(input: input, output: output)
            if let bands = try? t.plan(width: w, height: h, access: .rows(rowOverhead: overhead)), bands.mode == .bands,
               case let s = try t.plan(width: w, height: h, access: .rows(rowOverhead: overhead, spool: true)),
               s.mode == .spooledStrips, s.geometry!.overhead < 2.2 {
                XCTAssertLessThan(s.geometry!.overhead, bands.geometry!.overhead)
                return kb << 10
            }
        }
        throw XCTSkip("no budget spools")
    }

    func withTMPDIR<T>(_ dir: String, _ body: () throws -> T) rethrows -> T {
        let old = getenv("TMPDIR").map { String(cString: $0) }
        setenv("TMPDIR", dir, 1)
        defer { if let old { setenv("TMPDIR", old, 1) } else { unsetenv("TMPDIR") } }
        return try body()
    }

    func testSpooledStripsGiveTheSameBytesAndLeaveNothingOnDisk() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let budget = try spoolingBudget(model)
        for strength in [Float(1), 0.6] {
            let reference = try run(try Scheduler(model: model, precision: .fp32, threads: 1), strength: strength)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("csgis-spool-test-\(getpid())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var listed: [String]?
            let spooled = try withTMPDIR(dir) {
                try run(try Scheduler(model: model, precision: .fp32, threads: 2, memoryBudget: budget), strength: strength,
                        duringWrite: { if listed == nil { listed = try? FileManager.default.contentsOfDirectory(atPath: dir) } })
            }
            XCTAssertEqual(spooled.bytes, reference.bytes, "strength \(strength): spooled strips = the run with room to spare")
            XCTAssertFalse(spooled.calls.contains("wr"), "spooled: every row is read before the first is written (\(spooled.calls))")
            XCTAssertEqual(listed, [], "the spool files have no name while in use")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        }
    }

    func testWithoutASpoolTheStreamRunsInBands() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let budget = try spoolingBudget(model)
        let reference = try run(try Scheduler(model: model, precision: .fp32))
        let bands = try withTMPDIR("/nonexistent-csgis-dir") {
            XCTAssertFalse(SpooledImage.hasRoom(input: input, output: output, inputInPlace: false), "no directory, no spool")
            XCTAssertEqual(try Scheduler(model: model, precision: .fp32, memoryBudget: budget)
                .plan(width: w, height: h, access: LayoutRows.access(input: input, output: output)).mode, .bands)
            return try run(try Scheduler(model: model, precision: .fp32, memoryBudget: budget))
        }
        XCTAssertEqual(bands.bytes, reference.bytes, "bands at the same budget: the same bytes")
    }

    /// A size the disk cannot hold gets no spool (checked before any row is read), whatever
    /// the header claims, up to the largest layout there is.
    func testNoSpoolForMoreThanTheDiskHolds() throws {
        let giant = try PixelLayout(width: 1 << 29, height: 1 << 30, channels: 4, alpha: 3, sample: .u16)
        XCTAssertFalse(SpooledImage.hasRoom(input: giant, output: giant, inputInPlace: false))
        XCTAssertTrue(SpooledImage.hasRoom(input: input, output: output, inputInPlace: false))
    }

    /// A spool in memory (tmpfs: /dev/shm here) would spend the RAM the budget keeps.
    func testNoSpoolInMemory() throws {
        guard SpooledImage.isInMemory("/dev/shm") else { throw XCTSkip("/dev/shm is not a tmpfs here") }
        XCTAssertFalse(SpooledImage.hasRoom(input: input, output: output, inputInPlace: false, directory: "/dev/shm"))
        XCTAssertFalse(SpooledImage.isInMemory(FileManager.default.currentDirectoryPath), "the checkout is on disk")
    }

    func testASpooledRunCancelsAndWritesNothing() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let t = try Scheduler(model: model, precision: .fp32, memoryBudget: try spoolingBudget(model))
        for after in [1, 50] {  // while filling the spool, and while running strips
            var polls = 0
            var wrote = false
            XCTAssertThrowsError(try run(t, shouldStop: { polls += 1; return polls > after }, duringWrite: { wrote = true })) {
                XCTAssertEqual($0 as? CSGISError, .cancelled)
            }
            XCTAssertFalse(wrote)
        }
    }

    /// One fraction spans the whole spooled run: it moves while the rows are read (before the
    /// network has figures), never falls, and reaches 1 once, after the last row is written;
    /// a "stop" while the spool fills cancels before anything is written.
    func testProgressSpansFillRunAndDrainAndCancelsWhileFilling() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let t = try Scheduler(model: model, precision: .fp32, memoryBudget: try spoolingBudget(model))
        var seen: [(fraction: Double, calls: String)] = []
        var calls = ""
        let r = try run(t, progress: { p in seen.append((p.fraction, calls)); return true }, duringWrite: { calls += "w" })
        XCTAssertEqual(try run(try Scheduler(model: model, precision: .fp32)).bytes, r.bytes)
        let first = try XCTUnwrap(seen.first)
        // these rows fill the spool in one step: its report is the fill's whole share
        XCTAssertEqual(first.fraction, SpoolProgress.fillShare, "the first report comes from the fill")
        XCTAssertGreaterThan(seen.filter { $0.fraction > SpoolProgress.fillShare && $0.fraction < 1 }.count, 1, "the run reports too")
        XCTAssertEqual(zip(seen, seen.dropFirst()).filter { $1.fraction < $0.fraction }.count, 0, "never falls")
        XCTAssertEqual(seen.filter { $0.fraction >= 1 }.count, 1, "1 is reported once")
        XCTAssertEqual(seen.last?.fraction, 1)
        XCTAssertEqual(seen.last?.calls, calls, "1 comes after the last row is written")
        XCTAssertTrue(seen.dropLast().allSatisfy { $0.fraction < 1 }, "below 1 until the last row is written")
        var wrote = false
        XCTAssertThrowsError(try run(t, progress: { _ in false }, duringWrite: { wrote = true })) {
            XCTAssertEqual($0 as? CSGISError, .cancelled)
        }
        XCTAssertFalse(wrote, "stopped while filling: nothing written")
    }

    /// Pixels that also lie in a seekable file (big-endian 16-bit samples after a header, as
    /// in a netpbm file) are read there by the strips: no row is read through the callback,
    /// and the bytes are those of the run with room to spare.
    func testAnInputFileIsReadInPlace() throws {
        let model = try CSGISModel(contentsOf: Fixtures.path("tiny-4x1.safetensors"))
        let t = try Scheduler(model: model, precision: .fp32, memoryBudget: try spoolingBudget(model))
        let layout = try PixelLayout(width: w, height: h, channels: 4, alpha: 3, sample: .u16BigEndian)
        var bytes = [UInt8](repeating: 0x50, count: 13)  // a header's worth of other bytes first
        for y in 0..<h { for i in 0..<(w * 4) {
            let o = y * input.stride + 2 * i
            bytes += [pixels[o + 1], pixels[o]]
        } }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csgis-inplace-\(getpid())").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let reference = try run(try Scheduler(model: model, precision: .fp32))
        let r = try run(t, file: InputFile(fd: fd, offset: 13, layout: layout))
        XCTAssertEqual(r.bytes, reference.bytes, "read in place = the run with room to spare")
        XCTAssertFalse(r.calls.contains("r"), "no row read through the callback (\(r.calls))")
        XCTAssertThrowsError(try run(t, file: InputFile(fd: fd, offset: 13, layout: try PixelLayout(width: w, height: h - 1, channels: 4,
                                                                                                   alpha: 3, sample: .u8))))
    }
}
