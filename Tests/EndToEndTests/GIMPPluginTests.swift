import CSGISCore
import CSGISImageIO
import Foundation
import XCTest

/// The real GIMP 2.10, headless, with the plug-in installed by install.sh into a temporary
/// HOME and prefix; results compared with the filter on the same images.
final class GIMPPluginTests: XCTestCase {
    static var work: URL!
    static var home: URL!
    static var prefix: URL!
    static var available = false

    override class func setUp() {
        work = try! Harness.tempDir()
        home = work.appendingPathComponent("home")
        prefix = work.appendingPathComponent("prefix")
        try! FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        available = (try? Harness.sh("command -v gimp-console-2.10 && pkg-config --exists gimpui-2.0"))?.status == 0
        guard available else { return }
        // A first start makes GIMP's profile; then install as a user would.
        _ = try? Harness.sh("timeout 120 gimp-console-2.10 -i -d -f -b '(gimp-quit 0)'", env: ["HOME": home.path])
        let r = try! Harness.sh("'\(Harness.repo.path)/install.sh' --prefix '\(prefix.path)' --bin-dir '\(Harness.binDir)'",
                                env: ["HOME": home.path], in: Harness.repo)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    override class func tearDown() { try? FileManager.default.removeItem(at: work) }

    override func setUpWithError() throws {
        try XCTSkipUnless(Self.available, "GIMP 2.10 and libgimp2.0-dev are not installed")
    }

    /// Runs Script-Fu in one GIMP process; fails on GIMP's batch error message (GIMP exits 0 anyway).
    func gimp(_ script: String) throws -> Harness.Result {
        let quoted = script.replacingOccurrences(of: "'", with: "'\\''")
        let r = try Harness.sh("timeout 300 gimp-console-2.10 -i -d -f -b '\(quoted)' -b '(gimp-quit 0)'", env: ["HOME": Self.home.path])
        XCTAssertFalse(r.stderr.contains("batch command experienced an execution error"), r.stderr)
        XCTAssertTrue(r.stderr.contains("batch command executed successfully"), r.stderr)
        return r
    }

    func smoothCall(_ input: URL, _ output: URL, select: (Int, Int, Int, Int)? = nil, memoryMB: Int = 0) -> String {
        let sel = select.map { "(gimp-image-select-rectangle img CHANNEL-OP-REPLACE \($0.0) \($0.1) \($0.2) \($0.3))" } ?? ""
        return """
        (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "\(input.path)" "\(input.path)")))
               (drw (car (gimp-image-get-active-drawable img))))
          \(sel)
          (plug-in-csgis-smooth RUN-NONINTERACTIVE img drw 1.0 "\(Harness.tinyModel)" 1 \(memoryMB))
          (gimp-selection-none img)
          (gimp-file-save RUN-NONINTERACTIVE img drw "\(output.path)" "\(output.path)")
          (gimp-image-delete img))
        """
    }

    /// Max difference in colour (where alpha > 0), in units of 1/maxval.
    func colourDiff(_ a: SampleImage, _ b: SampleImage, rect: (Int, Int, Int, Int)? = nil, outside: Bool = false) -> Int {
        precondition(a.channels == b.channels && a.width == b.width)
        var d = 0
        let colour = a.hasAlpha ? a.channels - 1 : a.channels
        for y in 0..<a.height { for x in 0..<a.width {
            if let r = rect {
                let inside = x >= r.0 && x < r.0 + r.2 && y >= r.1 && y < r.1 + r.3
                if inside == outside { continue }
            }
            let i = (y * a.width + x) * a.channels
            if a.hasAlpha && a.samples[i + a.channels - 1] == 0 { continue }
            for c in 0..<colour { d = max(d, abs(Int(a.samples[i + c]) - Int(b.samples[i + c]))) }
        } }
        return d
    }

    func testPluginMatchesTheFilterOnAllEightLayouts() throws {
        let dir = Self.work.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cases = Harness.cases  // RGB, RGBA, grey, grey+alpha at 8 and 16 bits
        var script = "(begin "
        for c in cases {
            let input = try Harness.makeInput(c, in: dir, size: "80x60")
            script += smoothCall(input, dir.appendingPathComponent("\(c.name)-gimp.png"))
        }
        _ = try gimp(script + ")")
        for c in cases {
            let input = dir.appendingPathComponent("\(c.name).png")
            let filterOut = dir.appendingPathComponent("\(c.name)-filter.png")
            let r = try Harness.sh("\"$CSGIS\" --quiet --model '\(Harness.tinyModel)' --precision fp32 '\(input.path)' '\(filterOut.path)'")
            XCTAssertEqual(r.status, 0, r.stderr)
            let g = try Harness.decode(file: dir.appendingPathComponent("\(c.name)-gimp.png"))
            let f = try Harness.decode(file: filterOut), orig = try Harness.decode(file: input)
            XCTAssertEqual(g.channels, f.channels, "\(c.name): channels")
            XCTAssertEqual(g.maxval, f.maxval, "\(c.name): depth")
            let unit = f.maxval / 255
            XCTAssertLessThanOrEqual(colourDiff(g, f), unit, "\(c.name): GIMP vs filter beyond 1/255")
            XCTAssertGreaterThan(colourDiff(g, orig), 3 * unit, "\(c.name): GIMP output looks unsmoothed")
        }
    }

    func testFloatPrecisionImage() throws {
        let dir = Self.work.appendingPathComponent("float")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let input = try Harness.makeInput(Harness.cases[6], in: dir, size: "60x50")  // RGBA 8-bit
        let out = dir.appendingPathComponent("out.png")
        _ = try gimp("""
        (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "\(input.path)" "\(input.path)")))
               (drw (car (gimp-image-get-active-drawable img))))
          (gimp-image-convert-precision img PRECISION-FLOAT-GAMMA)
          (plug-in-csgis-smooth RUN-NONINTERACTIVE img drw 1.0 "\(Harness.tinyModel)" 1 0)
          (gimp-image-convert-precision img PRECISION-U8-GAMMA)
          (gimp-file-save RUN-NONINTERACTIVE img drw "\(out.path)" "\(out.path)"))
        """)
        let filterOut = dir.appendingPathComponent("filter.png")
        XCTAssertEqual(try Harness.sh("\"$CSGIS\" --quiet --model '\(Harness.tinyModel)' --precision fp32 '\(input.path)' '\(filterOut.path)'").status, 0)
        let g = try Harness.decode(file: out), f = try Harness.decode(file: filterOut)
        XCTAssertEqual(g.maxval, 255)
        XCTAssertLessThanOrEqual(colourDiff(g, f), 1, "32-bit float drawable: GIMP vs filter beyond 1/255")
    }

    func testSelectionIsRespected() throws {
        let dir = Self.work.appendingPathComponent("sel")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let input = try Harness.makeInput(Harness.cases[4], in: dir, size: "90x70")
        let rect = (20, 15, 40, 30)
        let out = dir.appendingPathComponent("out.png")
        _ = try gimp(smoothCall(input, out, select: rect))
        let filterOut = dir.appendingPathComponent("filter.png")
        XCTAssertEqual(try Harness.sh("\"$CSGIS\" --quiet --model '\(Harness.tinyModel)' --precision fp32 '\(input.path)' '\(filterOut.path)'").status, 0)
        let g = try Harness.decode(file: out), f = try Harness.decode(file: filterOut), orig = try Harness.decode(file: input)
        XCTAssertLessThanOrEqual(colourDiff(g, f, rect: rect), 1, "inside the selection: like the filter")
        XCTAssertEqual(colourDiff(g, orig, rect: rect, outside: true), 0, "outside the selection: untouched")
        XCTAssertGreaterThan(colourDiff(g, orig, rect: rect), 3)
    }

    /// A selection too wide for a small budget runs in full-height strips read from and
    /// written to GEGL's buffers by rectangle (csgis_smooth_regions, so no spool file; 5
    /// strips at 3 MB): the same samples as at the default budget, and nothing outside the
    /// selection changes.
    func testAWideSelectionRunsInStripsWithTheSameResult() throws {
        let dir = Self.work.appendingPathComponent("wide")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let input = try Harness.makeInput(Harness.cases[4], in: dir, size: "1200x80")
        let rect = (150, 10, 900, 60)
        let roomy = dir.appendingPathComponent("roomy.png"), tight = dir.appendingPathComponent("tight.png")
        _ = try gimp("(begin \(smoothCall(input, roomy, select: rect)) \(smoothCall(input, tight, select: rect, memoryMB: 3)))")
        let a = try Harness.decode(file: roomy), b = try Harness.decode(file: tight), orig = try Harness.decode(file: input)
        XCTAssertEqual(a.samples, b.samples, "strips over GEGL's buffers: the same samples as the default budget")
        XCTAssertEqual(colourDiff(b, orig, rect: rect, outside: true), 0, "outside the selection: untouched")
        XCTAssertGreaterThan(colourDiff(b, orig, rect: rect), 3)
        let model = try CSGISModel(contentsOf: Harness.tinyModel)
        let R = model.config.receptiveRadius
        let p = try Plan.make(model: model.config, precision: .fp32, width: min(1200, 1050 + R) - max(0, 150 - R), height: 80,
                              access: .regions, budget: 3 << 20)
        XCTAssertTrue(p.mode == .strips && p.geometry!.tilesAcross > 1, "3 MB means strips here")
    }

    /// Runs Tests/Scripts/`script` (IMAGE OUTDIR ARGS) in the GUI GIMP under a virtual X
    /// server, on examples/textured.png resized to `size` (then `options`, for convert) in a
    /// folder of its own; requires exit 0 and returns the folder, the image and the script's output.
    func underX(_ script: String, in name: String, size: String, options: String = "", args: String = "",
                limit: Int) throws -> (dir: URL, input: URL, log: String) {
        try XCTSkipUnless(try Harness.sh("command -v gimp-2.10 xvfb-run xdotool").status == 0,
                          "needs gimp-2.10, xvfb-run (xvfb) and xdotool")
        let dir = Self.work.appendingPathComponent(name), input = dir.appendingPathComponent("in.png")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let example = Harness.repo.appendingPathComponent("examples/textured.png").path
        XCTAssertEqual(try Harness.sh("convert '\(example)' -resize '\(size)' \(options) '\(input.path)'").status, 0)
        let path = Harness.repo.appendingPathComponent("Tests/Scripts/\(script)").path
        let r = try Harness.sh("timeout \(limit) xvfb-run -a -s '-screen 0 1280x900x24' '\(path)' '\(input.path)' '\(dir.path)' \(args)",
                               env: ["HOME": Self.home.path])
        let log = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertEqual(r.status, 0, log + r.stderr)
        return (dir, input, log)
    }

    /// The GUI GIMP under a virtual X server: Cancel in GIMP's progress dialog, clicked while
    /// the plug-in smooths a 3000x3000 image with the base model (a minute or more), ends the
    /// plug-in at once and leaves the layer untouched (Tests/Scripts/gimp-cancel.sh).
    func testCancelInGIMPsProgressDialogLeavesTheLayerUntouched() throws {
        let (dir, input, log) = try underX("gimp-cancel.sh", in: "cancel", size: "3000x3000!", args: "base", limit: 600)
        func number(_ key: String) -> Int? {
            log.split(separator: "\n").first { $0.hasPrefix(key + " ") }.flatMap { Int($0.split(separator: " ")[1]) }
        }
        let ran = try XCTUnwrap(number("plugin-ran-ms"), log), ended = try XCTUnwrap(number("plugin-ended-after-ms"), log)
        XCTAssertGreaterThanOrEqual(ran, 2000, "Cancel was clicked while the plug-in was running")
        XCTAssertLessThan(ended, 5000, "the plug-in ended promptly after Cancel")
        let after = try Harness.decode(file: dir.appendingPathComponent("after.png"))
        let orig = try Harness.decode(file: input)
        XCTAssertEqual(after.samples, orig.samples, "the layer is untouched after Cancel")
    }

    /// The plug-in as a user meets it: the menu's interactive run opens the dialog, whose
    /// live preview is computed on the preview context (status 0), and OK smooths the layer
    /// with the dialog's defaults (base, strength 1) as the filter does
    /// (Tests/Scripts/gimp-dialog.sh under a virtual X server).
    func testDialogPreviewAndOK() throws {
        let (dir, input, log) = try underX("gimp-dialog.sh", in: "dialog", size: "160x120!", options: "-alpha set", limit: 400)
        let previews = log.split(separator: "\n").filter { $0.hasPrefix("csgis preview: ") }
        XCTAssertFalse(previews.isEmpty, log)
        XCTAssertTrue(previews.allSatisfy { $0.hasSuffix("status 0") }, log)
        let base = Self.prefix.appendingPathComponent("share/csgis/models/csgis-base.safetensors").path
        let ref = dir.appendingPathComponent("ref.png")
        XCTAssertEqual(try Harness.sh("\"$CSGIS\" --quiet --model '\(base)' '\(input.path)' '\(ref.path)'").status, 0)
        let after = try Harness.decode(file: dir.appendingPathComponent("after.png")), want = try Harness.decode(file: ref)
        XCTAssertEqual(after.channels, want.channels)
        XCTAssertLessThanOrEqual(colourDiff(after, want), 1, "OK in the dialog gives the filter's result (within GEGL's 1/255)")
        XCTAssertGreaterThan(colourDiff(after, try Harness.decode(file: input)), 3, "the layer was smoothed")
    }

    /// Precision 3 (int8) with the shipped lite model gives the filter's --precision int8 result.
    func testInt8MatchesTheFilter() throws {
        let dir = Self.work.appendingPathComponent("int8")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let input = try Harness.makeInput(Harness.cases[4], in: dir, size: "64x48")
        let lite = Harness.repo.appendingPathComponent("models/csgis-lite.safetensors").path
        let out = dir.appendingPathComponent("gimp.png"), filterOut = dir.appendingPathComponent("filter.png")
        _ = try gimp("""
        (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "\(input.path)" "\(input.path)")))
               (drw (car (gimp-image-get-active-drawable img))))
          (plug-in-csgis-smooth RUN-NONINTERACTIVE img drw 1.0 "\(lite)" 3 0)
          (gimp-file-save RUN-NONINTERACTIVE img drw "\(out.path)" "\(out.path)")
          (gimp-image-delete img))
        """)
        let r = try Harness.sh("\"$CSGIS\" --quiet --model '\(lite)' --precision int8 '\(input.path)' '\(filterOut.path)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        let g = try Harness.decode(file: out), f = try Harness.decode(file: filterOut)
        XCTAssertLessThanOrEqual(colourDiff(g, f), 1, "GIMP int8 vs filter int8 beyond 1/255")
        XCTAssertGreaterThan(colourDiff(g, try Harness.decode(file: input)), 3, "the layer was smoothed")
    }

    func testBadModelFailsAsAnExecutionError() throws {
        let dir = Self.work.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let input = try Harness.makeInput(Harness.cases[4], in: dir)
        let script = """
        (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "\(input.path)" "\(input.path)")))
               (drw (car (gimp-image-get-active-drawable img))))
          (plug-in-csgis-smooth RUN-NONINTERACTIVE img drw 1.0 "/nonexistent.safetensors" 0 0))
        """
        let r = try Harness.sh("timeout 300 gimp-console-2.10 -i -d -f -b '\(script)' -b '(gimp-quit 0)'", env: ["HOME": Self.home.path])
        XCTAssertTrue(r.stderr.contains("batch command experienced an execution error"), r.stderr)
        XCTAssertTrue(r.stderr.contains("no such file"), r.stderr)
    }

    func testBatchScriptExample() throws {
        let dir = Self.work.appendingPathComponent("batch")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for c in [Harness.cases[4], Harness.cases[6]] { _ = try Harness.makeInput(c, in: dir) }
        let job = "(begin (load \"\(Harness.repo.path)/examples/gimp-batch-smooth.scm\") (csgis-batch-smooth \"\(dir.path)/*.png\" 1.0 \"\(Harness.tinyModel)\"))"
        let r = try Harness.sh("timeout 300 gimp-console-2.10 -i -d -f -b '\(job)' -b '(gimp-quit 0)'", env: ["HOME": Self.home.path])
        XCTAssertFalse(r.stderr.contains("execution error"), r.stderr)
        for n in ["rgb8", "rgba8"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(n)-smoothed.png").path), "\(n): \(r.stderr)")
        }
    }
}
