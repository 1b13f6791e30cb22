import CSGISCore
import CSGISImageIO
import Foundation
import XCTest

/// install.sh into a temporary prefix (and HOME, where the GIMP plug-in goes), then a C
/// program built with pkg-config against the installed library (not the build tree),
/// compared with the filter; the installed ImageMagick delegate.
final class CLibraryTests: XCTestCase {
    static var prefix: URL!
    static var work: URL!
    static var home: URL!

    override class func setUp() {
        work = try! Harness.tempDir()
        prefix = work.appendingPathComponent("prefix")
        home = work.appendingPathComponent("home")
        try! FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let r = try! Harness.sh("'\(Harness.repo.path)/install.sh' --prefix '\(prefix.path)' --bin-dir '\(Harness.binDir)'", env: ["HOME": home.path], in: Harness.repo)
        XCTAssertEqual(r.status, 0, "install.sh: \(r.stderr)")
    }

    override class func tearDown() { try? FileManager.default.removeItem(at: work) }

    var pkg: String { "PKG_CONFIG_PATH='\(Self.prefix.path)/lib/pkgconfig'" }

    func compileExample() throws -> String {
        let exe = Self.work.appendingPathComponent("smooth").path
        let r = try Harness.sh("cc -Wall -Werror '\(Harness.repo.path)/examples/smooth.c' $(\(pkg) pkg-config --cflags --libs csgis) -o '\(exe)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        return exe
    }

    /// Builds a C test program against the installed library and runs it: exit 0 and "ok".
    /// `program` defines `static int test(int argc, char **argv)` (0: passed, else the failed
    /// case's number) after csgis.h and the usual C headers, which this adds, with main.
    func compileAndRunPrintsOK(_ name: String, _ program: String, libs: String = "", args: String = "",
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let src = Self.work.appendingPathComponent("\(name).c")
        try ("#include <csgis.h>\n" + ["math", "stdint", "stdio", "stdlib", "string"].map { "#include <\($0).h>\n" }.joined()
             + program + "\nint main(int argc, char **argv) {\n    int rc = test(argc, argv);\n    if (!rc) puts(\"ok\");\n    return rc;\n}\n")
            .write(to: src, atomically: true, encoding: .utf8)
        let exe = src.deletingPathExtension().path
        let cc = try Harness.sh("cc -Wall -Werror '\(src.path)' $(\(pkg) pkg-config --cflags --libs csgis) \(libs) -o '\(exe)'")
        XCTAssertEqual(cc.status, 0, cc.stderr, file: file, line: line)
        let r = try Harness.sh("'\(exe)' \(args)")
        XCTAssertEqual(r.status, 0, "exit \(r.status): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(String(decoding: r.stdout, as: UTF8.self), "ok\n", file: file, line: line)
    }

    /// csgis.h holds the one version and the argument parser the one CLI: the man page and
    /// the README must say the same.
    func testOneVersion() throws {
        let man = try String(contentsOf: Harness.repo.appendingPathComponent("docs/csgis-smooth.1"), encoding: .utf8)
        XCTAssertTrue(man.split(separator: "\n").first!.contains("\"csgis \(CSGISVersion.string)\""), "man page .TH line")
        let man3 = try String(contentsOf: Harness.repo.appendingPathComponent("docs/csgis.3"), encoding: .utf8)
        XCTAssertTrue(man3.split(separator: "\n").first!.contains("\"csgis \(CSGISVersion.string)\""), "csgis.3 .TH line")
        // the library's man page names every function the header declares
        let header = try String(contentsOf: Harness.repo.appendingPathComponent("Sources/CSGISCHeader/include/csgis.h"), encoding: .utf8)
        let functions = Set(header.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: #"\bcsgis_[a-z_]+(?=\()"#, options: .regularExpression), !line.hasPrefix(" ") else { return nil }
            return String(line[r])
        })
        XCTAssertGreaterThanOrEqual(functions.count, 14, "\(functions)")
        for f in functions { XCTAssertTrue(man3.contains(f), "csgis.3 lacks \(f)") }
        let manifest = try String(contentsOf: Harness.repo.appendingPathComponent("plugin-manifest/manifest.json"), encoding: .utf8)
        XCTAssertFalse(manifest.contains("\"version\""), "the manifest takes the version from csgis.h")
        XCTAssertFalse(manifest.contains("\"usage\""), "the CLI is described by the argument parser, not the manifest")
        // every option the argument parser knows is in the man page and the README's synopsis
        let help = String(decoding: try Harness.sh("\"$CSGIS\" --help").stdout, as: UTF8.self)
        let readme = try String(contentsOf: Harness.repo.appendingPathComponent("README.md"), encoding: .utf8)
        let options = Set(help.split(whereSeparator: { " ,\n[]<>|".contains($0) }).filter { $0.hasPrefix("--") && $0.count > 2 }.map(String.init))
        XCTAssertGreaterThanOrEqual(options.count, 9, help)
        for o in options where o != "--help" && o != "--version" {
            XCTAssertTrue(man.contains(o.replacingOccurrences(of: "-", with: "\\-")), "man page lacks \(o)")
            XCTAssertTrue(readme.contains("[\(o)"), "README synopsis lacks \(o)")
        }
    }

    func testInstallLayoutAndPkgConfig() throws {
        for f in ["lib/libcsgis.so", "lib/libcsgis.so.0", "lib/libcsgis.so.\(CSGISVersion.string)", "include/csgis.h", "lib/pkgconfig/csgis.pc", "bin/csgis-smooth", "share/man/man1/csgis-smooth.1", "share/man/man3/csgis.3",
                  "share/csgis/models/csgis-base.safetensors", "share/csgis/models/csgis-lite.safetensors",
                  "share/csgis/imagemagick/delegates.xml"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: Self.prefix.appendingPathComponent(f).path), f)
        }
        let v = try Harness.sh("\(pkg) pkg-config --modversion csgis")
        XCTAssertEqual(String(decoding: v.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), CSGISVersion.string)
        // every global symbol the library defines is the C ABI's (exports.map); no Swift internals
        let exports = try Harness.sh("nm -D --defined-only '\(Self.prefix.path)/lib/libcsgis.so' | awk '$2 ~ /^[A-Z]$/ && $2 != \"A\" {print $3}' | sort")
        XCTAssertEqual(String(decoding: exports.stdout, as: UTF8.self).split(separator: "\n"),
                       ["csgis_context_default_params@@CSGIS_0", "csgis_context_free@@CSGIS_0", "csgis_context_input_rect@@CSGIS_0", "csgis_context_new@@CSGIS_0",
                        "csgis_context_precision@@CSGIS_0", "csgis_default_params@@CSGIS_0", "csgis_image_packed@@CSGIS_0",
                        "csgis_last_error@@CSGIS_0", "csgis_model_free@@CSGIS_0", "csgis_model_get_info@@CSGIS_0",
                        "csgis_model_load@@CSGIS_0", "csgis_smooth@@CSGIS_0", "csgis_smooth_regions@@CSGIS_0",
                        "csgis_smooth_stream@@CSGIS_0", "csgis_version@@CSGIS_0"])
        let soname = try Harness.sh("readelf -d '\(Self.prefix.path)/lib/libcsgis.so' | grep SONAME")
        XCTAssertTrue(String(decoding: soname.stdout, as: UTF8.self).contains("[libcsgis.so.0]"), String(decoding: soname.stdout, as: UTF8.self))
    }

    func testCExampleMatchesTheFilterInMemoryAndStreaming() throws {
        let exe = try compileExample()
        let png = try Harness.makeInput(Harness.cases[4], in: Self.work, size: "90x70")
        let ppm = Self.work.appendingPathComponent("in.ppm").path
        XCTAssertEqual(try Harness.sh("convert '\(png.path)' -depth 8 'ppm:\(ppm)'").status, 0)
        let model = Harness.tinyModel
        let a = try Harness.sh("'\(exe)' '\(ppm)' '\(Self.work.path)/a.ppm' --model '\(model)'")
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stderr.contains("libcsgis \(CSGISVersion.string)") && a.stderr.contains("receptive radius 69"), a.stderr)
        let b = try Harness.sh("'\(exe)' '\(ppm)' '\(Self.work.path)/b.ppm' --model '\(model)' --stream")
        XCTAssertEqual(b.status, 0, b.stderr)
        let c = try Harness.sh("'\(Self.prefix.path)/bin/csgis-smooth' '\(ppm)' '\(Self.work.path)/c.ppm' --model '\(model)'")
        XCTAssertEqual(c.status, 0, c.stderr)
        let ia = try Harness.decode(file: Self.work.appendingPathComponent("a.ppm"))
        XCTAssertEqual(ia.samples, try Harness.decode(file: Self.work.appendingPathComponent("b.ppm")).samples, "stream = in-memory")
        XCTAssertEqual(ia.samples, try Harness.decode(file: Self.work.appendingPathComponent("c.ppm")).samples, "C library = filter")
        XCTAssertNotEqual(ia.samples, try Harness.decode(file: URL(fileURLWithPath: ppm)).samples)
    }

    /// Loading, the context (engine parameters checked when it is made, the same bytes call
    /// after call and from a fresh one, the model kept alive, one call at a time), the
    /// per-call parameters, the image helper and the error codes.
    func testDefaultModelContextsAndErrorsThroughC() throws {
        try compileAndRunPrintsOK("errors", """
        #include <pthread.h>
        static int stop_at_once(float fraction, double seconds_left, void *user_data) {
            (void)fraction; (void)seconds_left; (void)user_data;
            return 1;
        }
        /* a callback calling back into the context that is running it */
        static csgis_status inner = CSGIS_OK;
        static int inner_calls;
        static int call_again(float fraction, double seconds_left, void *user_data) {
            (void)fraction; (void)seconds_left;
            static unsigned char tiny[2 * 2 * 3];
            csgis_image t = csgis_image_packed(2, 2, 3, CSGIS_U8);
            if (!inner_calls++) inner = csgis_smooth((csgis_context *)user_data, NULL, &t, tiny, &t, tiny);
            return 0;
        }
        /* one context per thread over one shared model */
        typedef struct { const csgis_model *m; unsigned char px[16 * 12 * 3]; csgis_status st; } job;
        static void *run(void *arg) {
            job *j = arg;
            csgis_context *c = NULL;
            j->st = csgis_context_new(j->m, NULL, &c);
            csgis_image img = csgis_image_packed(16, 12, 3, CSGIS_U8);
            if (j->st == CSGIS_OK) j->st = csgis_smooth(c, NULL, &img, j->px, &img, j->px);
            csgis_context_free(c);
            return NULL;
        }
        static int test(int argc, char **argv) {
            (void)argc; (void)argv;
            csgis_model *m = NULL;
            if (csgis_model_load("/nonexistent.safetensors", &m) != CSGIS_ERR_IO || m) return 10;
            if (!strstr(csgis_last_error(), "no such file")) return 11;
            if (csgis_model_load(NULL, &m) != CSGIS_OK) { fprintf(stderr, "%s\\n", csgis_last_error()); return 12; }
            csgis_model_info info;
            if (csgis_model_get_info(m, &info) || info.dim != 64 || info.num_block != 12 || info.receptive_radius != 135) return 13;  /* the default: base */
            /* names resolve beside the installed library, like the filter's --model */
            csgis_model *lite = NULL;
            if (csgis_model_load("lite", &lite) != CSGIS_OK || csgis_model_get_info(lite, &info) || info.dim != 32) return 19;
            {   /* int8 needs the model's calibration: the shipped lite has one, the tiny fixture none */
                csgis_context *c8 = NULL;
                csgis_context_params p8 = csgis_context_default_params(); p8.precision = CSGIS_PRECISION_INT8;
                if (csgis_context_new(lite, &p8, &c8) != CSGIS_OK || csgis_context_precision(c8) != CSGIS_PRECISION_INT8) return 34;
                csgis_context_free(c8); c8 = NULL;
                csgis_model *tiny = NULL;
                if (csgis_model_load("\(Harness.tinyModel)", &tiny) != CSGIS_OK) return 36;
                if (csgis_context_new(tiny, &p8, &c8) != CSGIS_ERR_UNSUPPORTED || c8 || !strstr(csgis_last_error(), "int8 calibration")) return 35;
                csgis_model_free(tiny);
            }
            csgis_model_free(lite);
            if (csgis_model_load("nosuchmodel", &lite) != CSGIS_ERR_IO || lite || !strstr(csgis_last_error(), "no model named")) return 20;
            if (csgis_model_load("", &lite) != CSGIS_ERR_INVALID_ARGUMENT || lite || !strstr(csgis_last_error(), "empty")) return 27;
            /* engine parameters are checked when the context is made */
            csgis_context *ctx = NULL, *fresh = NULL;
            csgis_context_params cp = csgis_context_default_params();
            if (cp.precision != CSGIS_PRECISION_AUTO || cp.threads != 0) return 28;
            cp.precision = (csgis_precision)7;
            if (csgis_context_new(m, &cp, &ctx) != CSGIS_ERR_INVALID_ARGUMENT || ctx || !strstr(csgis_last_error(), "precision")) return 24;
            cp = csgis_context_default_params(); cp.threads = -1;
            if (csgis_context_new(m, &cp, &ctx) != CSGIS_ERR_INVALID_ARGUMENT || ctx) return 29;
            if (csgis_context_new(NULL, NULL, &ctx) != CSGIS_ERR_INVALID_ARGUMENT || ctx) return 30;
            cp = csgis_context_default_params(); cp.precision = CSGIS_PRECISION_FP32;
            if (csgis_context_new(m, &cp, &ctx) != CSGIS_OK || csgis_context_precision(ctx) != CSGIS_PRECISION_FP32) return 31;
            csgis_context_free(ctx);
            if (csgis_context_new(m, NULL, &ctx) != CSGIS_OK || !ctx) return 21;
            csgis_precision auto_is = csgis_context_precision(ctx);  /* auto, resolved */
            if (auto_is != CSGIS_PRECISION_FP32 && auto_is != CSGIS_PRECISION_BF16) return 32;
            if (csgis_context_precision(NULL) != CSGIS_PRECISION_AUTO) return 33;
            {   /* the input a selection needs: grown by the context (135 px for base), clipped */
                uint32_t rx, ry, rw, rh;
                if (csgis_context_input_rect(ctx, 1000, 800, 300, 200, 100, 50, &rx, &ry, &rw, &rh) != CSGIS_OK
                    || rx > 300 - 135 || ry > 200 - 135 || rx + rw < 400 + 135 || ry + rh < 250 + 135 || rx + rw > 1000 || ry + rh > 800) return 39;
                if (csgis_context_input_rect(ctx, 100, 80, 10, 10, 20, 20, &rx, &ry, &rw, &rh) != CSGIS_OK || rx || ry || rw != 100 || rh != 80) return 40;
                if (csgis_context_input_rect(ctx, 100, 80, 90, 10, 20, 20, &rx, &ry, &rw, &rh) != CSGIS_ERR_INVALID_ARGUMENT
                    || !strstr(csgis_last_error(), "not inside")) return 41;
                if (csgis_context_input_rect(NULL, 100, 80, 0, 0, 1, 1, &rx, &ry, &rw, &rh) != CSGIS_ERR_INVALID_ARGUMENT) return 42;
                if (csgis_context_input_rect(ctx, 100, 80, 0, 0, 0, 1, &rx, &ry, &rw, &rh) != CSGIS_ERR_INVALID_ARGUMENT) return 43;
            }
            /* the image helper puts alpha where it usually is */
            csgis_image ok = csgis_image_packed(4, 3, 3, CSGIS_U8), rgba = csgis_image_packed(4, 3, 4, CSGIS_U16),
                        ya = csgis_image_packed(4, 3, 2, CSGIS_F32), grey = csgis_image_packed(4, 3, 1, CSGIS_U8);
            if (ok.alpha_channel != -1 || ok.stride || ok.width != 4 || ok.height != 3 || ok.channels != 3 || ok.type != CSGIS_U8
                || rgba.alpha_channel != 3 || ya.alpha_channel != 1 || grey.alpha_channel != -1) return 34;
            unsigned char px[4 * 3 * 3] = {0};
            csgis_image bad = {4, 3, 5, CSGIS_U8, 0, -1};
            if (csgis_smooth(ctx, NULL, &bad, px, &bad, px) != CSGIS_ERR_INVALID_ARGUMENT) return 14;
            csgis_params o = csgis_default_params();
            if (o.strength != 1 || o.memory_budget || o.tile_size || o.progress) return 35;
            o.memory_budget = 1024;
            if (csgis_smooth(ctx, &o, &ok, px, &ok, px) != CSGIS_ERR_OUT_OF_MEMORY) return 15;
            o = csgis_default_params();
            o.progress = stop_at_once;  /* the one way to cancel: the progress callback says stop */
            if (csgis_smooth(ctx, &o, &ok, px, &ok, px) != CSGIS_ERR_CANCELLED) return 16;
            o.progress = NULL;
            /* a kept context gives a fresh one's bytes, call after call */
            unsigned char ref[16 * 12 * 3], out[16 * 12 * 3];
            for (int i = 0; i < (int)sizeof ref; i++) ref[i] = out[i] = (unsigned char)(i * 37 % 251);
            csgis_image img = csgis_image_packed(16, 12, 3, CSGIS_U8);
            if (csgis_context_new(m, NULL, &fresh) != CSGIS_OK || csgis_smooth(fresh, &o, &img, ref, &img, ref) != CSGIS_OK) return 22;
            csgis_context_free(fresh);
            for (int k = 0; k < 3; k++) {
                unsigned char again[sizeof out];
                memcpy(again, out, sizeof out);
                if (csgis_smooth(ctx, &o, &img, again, &img, again) != CSGIS_OK || memcmp(again, ref, sizeof ref)) return 23;
            }
            /* one call at a time: a call from inside a call is refused, the outer one goes on */
            o.progress = call_again; o.progress_user_data = ctx;
            unsigned char busy[sizeof out];
            memcpy(busy, out, sizeof out);
            if (csgis_smooth(ctx, &o, &img, busy, &img, busy) != CSGIS_OK || memcmp(busy, ref, sizeof ref)) return 36;
            if (!inner_calls || inner != CSGIS_ERR_BUSY) { fprintf(stderr, "inner call: %d\\n", (int)inner); return 37; }
            o.progress = NULL; o.progress_user_data = NULL;
            /* threads: a context each, one model, the same bytes */
            job jobs[2];
            pthread_t th[2];
            for (int t = 0; t < 2; t++) { jobs[t].m = m; memcpy(jobs[t].px, out, sizeof out); pthread_create(&th[t], NULL, run, &jobs[t]); }
            for (int t = 0; t < 2; t++) {
                pthread_join(th[t], NULL);
                if (jobs[t].st != CSGIS_OK || memcmp(jobs[t].px, ref, sizeof ref)) return 38;
            }
            if (csgis_smooth(NULL, &o, &img, out, &img, out) != CSGIS_ERR_INVALID_ARGUMENT) return 25;
            o.strength = 0;
            px[5] = 77;
            if (csgis_smooth(ctx, &o, &ok, px, &ok, px) != CSGIS_OK || px[5] != 77) return 17;
            /* the context keeps the model alive */
            csgis_model_free(m);
            o.strength = 1;
            unsigned char late[sizeof out];
            memcpy(late, out, sizeof out);
            if (csgis_smooth(ctx, &o, &img, late, &img, late) != CSGIS_OK || memcmp(late, ref, sizeof ref)) return 26;
            csgis_context_free(ctx);
            csgis_context_free(NULL);
            csgis_model_free(NULL);
            return 0;
        }
        """, libs: "-pthread")
    }

    /// A wide image through csgis_smooth at budgets that force full-height strips (the
    /// caller's memory is read and written by column range), one tile and the default: the
    /// same bytes, with separate buffers, in place, and across sample types.
    func testWideImageGivesTheSameBytesAtEveryBudget() throws {
        try compileAndRunPrintsOK("budgets", """
        enum { W = 700, H = 40 };
        static unsigned char in[W * H * 4], ref[W * H * 4], out[W * H * 4];
        static int read_in(uint32_t first, uint32_t count, void *rows, void *user) {
            (void)user; memcpy(rows, in + (size_t)first * W * 4, (size_t)count * W * 4); return 0;
        }
        static int write_out(uint32_t first, uint32_t count, const void *rows, void *user) {
            memcpy((unsigned char *)user + (size_t)first * W * 4, rows, (size_t)count * W * 4); return 0;
        }
        static int test(int argc, char **argv) {
            csgis_model *m = NULL;
            if (argc < 2 || csgis_model_load(argv[1], &m) != CSGIS_OK) { fprintf(stderr, "%s\\n", csgis_last_error()); return 10; }
            static unsigned short out16[W * H * 4];
            for (int i = 0; i < W * H * 4; i++) in[i] = (unsigned char)((i * 7919 + i / (W * 4) * 31) % 251);
            csgis_image d = csgis_image_packed(W, H, 4, CSGIS_U8), d16 = csgis_image_packed(W, H, 4, CSGIS_U16);
            csgis_context_params cp = csgis_context_default_params();
            cp.precision = CSGIS_PRECISION_FP32;  /* the budgets below are fp32's on every CPU */
            csgis_context *ctx = NULL;
            if (csgis_context_new(m, &cp, &ctx) != CSGIS_OK) return 10;
            csgis_params o = csgis_default_params();
            o.strength = 0.9f;
            if (csgis_smooth(ctx, &o, &d, in, &d, ref) != CSGIS_OK) return 11;
            unsigned short ref16[W * H * 4];
            if (csgis_smooth(ctx, &o, &d, in, &d16, ref16) != CSGIS_OK) return 12;
            int refused = 0;
            for (size_t mb = 1; mb <= 12; mb++) {
                o.memory_budget = mb << 20;
                int rc = csgis_smooth(ctx, &o, &d, in, &d, out);
                if (rc == CSGIS_ERR_OUT_OF_MEMORY) { refused++; continue; }
                if (rc != CSGIS_OK) { fprintf(stderr, "%zu MB: %s\\n", mb, csgis_last_error()); return 13; }
                if (memcmp(out, ref, sizeof ref)) { fprintf(stderr, "%zu MB: bytes differ\\n", mb); return 14; }
                memcpy(out, in, sizeof in);  /* in place: its copy of the result counts against the budget */
                rc = csgis_smooth(ctx, &o, &d, out, &d, out);
                if (rc != CSGIS_ERR_OUT_OF_MEMORY && (rc != CSGIS_OK || memcmp(out, ref, sizeof ref))) { fprintf(stderr, "%zu MB in place\\n", mb); return 15; }
                if (csgis_smooth(ctx, &o, &d, in, &d16, out16) != CSGIS_OK || memcmp(out16, ref16, sizeof ref16)) { fprintf(stderr, "%zu MB u16\\n", mb); return 16; }
                for (int i = 3; i < W * H * 4; i += 4) if (out[i] != in[i]) return 17;  /* alpha passes through */
                memset(out, 0, sizeof out);  /* the stream: strips over a spool where bands would cost more */
                rc = csgis_smooth_stream(ctx, &o, &d, read_in, write_out, out);
                if (rc != CSGIS_ERR_OUT_OF_MEMORY && (rc != CSGIS_OK || memcmp(out, ref, sizeof ref))) {
                    fprintf(stderr, "%zu MB stream: %s\\n", mb, rc ? csgis_last_error() : "bytes differ"); return 19;
                }
            }
            if (refused == 12) return 18;
            /* in place with padded rows: the rows get the result, the padding between them stays the caller's */
            enum { S = W * 4 + 8 };
            static unsigned char padded[S * H];
            memset(padded, 0x5A, sizeof padded);
            for (int y = 0; y < H; y++) memcpy(padded + y * S, in + y * W * 4, W * 4);
            csgis_image p = d;
            p.stride = S;
            o.memory_budget = 0;
            if (csgis_smooth(ctx, &o, &p, padded, &p, padded) != CSGIS_OK) return 20;
            for (int y = 0; y < H; y++) {
                if (memcmp(padded + y * S, ref + y * W * 4, W * 4)) return 21;
                for (int i = W * 4; i < S; i++) if (y < H - 1 && padded[y * S + i] != 0x5A) return 22;
            }
            csgis_context_free(ctx);
            csgis_model_free(m);
            return 0;
        }
        """, args: "'\(Harness.tinyModel)'")
        // the budgets above include strips: the scheduler's own choice says so
        let model = try CSGISModel(contentsOf: Harness.tinyModel)
        let modes = (1...12).compactMap { mb in
            try? Plan.make(model: model.config, precision: .fp32, width: 700, height: 40, access: .regions, budget: mb << 20).mode
        }
        XCTAssertTrue(modes.contains(.strips) && modes.contains(.dense), "\(modes)")
        let layout = try PixelLayout(width: 700, height: 40, channels: 4, alpha: 3, sample: .u8)
        let streamModes = (1...12).compactMap { mb in
            try? Plan.make(model: model.config, precision: .fp32, width: 700, height: 40,
                           access: LayoutRows.access(input: layout, output: layout), budget: mb << 20).mode
        }
        XCTAssertTrue(streamModes.contains(.spooledStrips), "the stream is spooled into strips at some budget: \(streamModes)")
    }

    /// An image read and written by rectangle (csgis_smooth_regions, as the GIMP plug-in's
    /// GEGL buffers are): at budgets where the width does not fit, strips read narrow
    /// rectangles with no spool (TMPDIR points nowhere), every pixel is written exactly once,
    /// and the bytes equal csgis_smooth's at the default budget; strength 0 copies; a failing
    /// callback, a NULL one and a cancel come back as codes.
    func testRegionsGiveTheSameBytesWithoutASpool() throws {
        try compileAndRunPrintsOK("regions", """
        enum { W = 700, H = 40 };
        static unsigned char in[W * H * 4], ref[W * H * 4], out[W * H * 4], times[W * H];
        static int narrow, bad, fail_read;
        static int read_region(uint32_t x, uint32_t y, uint32_t w, uint32_t h, void *p, size_t stride, void *user) {
            (void)user;
            if (fail_read) return 5;
            if (x + w > W || y + h > H || w == 0 || h == 0 || stride < w * 4) { bad++; return 1; }
            if (w < W) narrow++;
            for (uint32_t r = 0; r < h; r++) memcpy((unsigned char *)p + r * stride, in + ((size_t)(y + r) * W + x) * 4, w * 4);
            return 0;
        }
        static int write_region(uint32_t x, uint32_t y, uint32_t w, uint32_t h, const void *p, size_t stride, void *user) {
            (void)user;
            if (x + w > W || y + h > H || stride < w * 4) { bad++; return 1; }
            for (uint32_t r = 0; r < h; r++) {
                memcpy(out + ((size_t)(y + r) * W + x) * 4, (const unsigned char *)p + r * stride, w * 4);
                for (uint32_t c = 0; c < w; c++) times[(y + r) * W + x + c]++;
            }
            return 0;
        }
        static int stop(float f, double left, void *user) { (void)f; (void)left; (void)user; return 1; }
        static int once(void) { for (int i = 0; i < W * H; i++) if (times[i] != 1) return 0; return 1; }
        static int test(int argc, char **argv) {
            setenv("TMPDIR", "/nonexistent-csgis-dir", 1);  /* no spool can be made */
            csgis_model *m = NULL;
            if (argc < 2 || csgis_model_load(argv[1], &m) != CSGIS_OK) { fprintf(stderr, "%s\\n", csgis_last_error()); return 10; }
            for (int i = 0; i < W * H * 4; i++) in[i] = (unsigned char)((i * 7919 + i / (W * 4) * 31) % 251);
            csgis_image d = csgis_image_packed(W, H, 4, CSGIS_U8);
            csgis_context_params cp = csgis_context_default_params();
            cp.precision = CSGIS_PRECISION_FP32;  /* the budgets below are fp32's on every CPU */
            csgis_context *ctx = NULL, *other = NULL;
            if (csgis_context_new(m, &cp, &ctx) != CSGIS_OK) return 10;
            csgis_params o = csgis_default_params();
            o.strength = 0.9f;
            if (csgis_smooth(ctx, &o, &d, in, &d, ref) != CSGIS_OK) return 11;
            int ran = 0, strips = 0;
            for (size_t mb = 1; mb <= 12; mb++) {
                o.memory_budget = mb << 20;
                memset(out, 0, sizeof out); memset(times, 0, sizeof times); narrow = 0;
                int rc = csgis_smooth_regions(ctx, &o, &d, read_region, write_region, NULL);
                if (rc == CSGIS_ERR_OUT_OF_MEMORY) continue;
                if (rc != CSGIS_OK) { fprintf(stderr, "%zu MB: %s\\n", mb, csgis_last_error()); return 12; }
                if (memcmp(out, ref, sizeof ref)) { fprintf(stderr, "%zu MB: bytes differ\\n", mb); return 13; }
                if (!once()) { fprintf(stderr, "%zu MB: a pixel not written exactly once\\n", mb); return 14; }
                ran++; strips += narrow > 0;
            }
            if (bad) return 15;
            if (!ran || !strips) { fprintf(stderr, "ran %d, strips %d\\n", ran, strips); return 16; }
            o = csgis_default_params(); o.strength = 0.9f; o.memory_budget = 3u << 20;
            if (csgis_context_new(m, &cp, &other) != CSGIS_OK) return 17;  /* a second context: the same bytes */
            memset(out, 0, sizeof out); memset(times, 0, sizeof times);
            if (csgis_smooth_regions(other, &o, &d, read_region, write_region, NULL) != CSGIS_OK || memcmp(out, ref, sizeof ref) || !once()) return 18;
            csgis_context_free(other);
            o.strength = 0;
            memset(out, 0, sizeof out); memset(times, 0, sizeof times);
            if (csgis_smooth_regions(ctx, &o, &d, read_region, write_region, NULL) != CSGIS_OK || memcmp(out, in, sizeof in) || !once()) return 19;
            o.strength = 1;
            fail_read = 1;
            if (csgis_smooth_regions(ctx, &o, &d, read_region, write_region, NULL) != CSGIS_ERR_CALLBACK) return 20;
            if (!strstr(csgis_last_error(), "read_region returned 5")) { fprintf(stderr, "%s\\n", csgis_last_error()); return 21; }
            fail_read = 0;
            if (csgis_smooth_regions(ctx, &o, &d, NULL, write_region, NULL) != CSGIS_ERR_INVALID_ARGUMENT) return 22;
            if (csgis_smooth_regions(NULL, &o, &d, read_region, write_region, NULL) != CSGIS_ERR_INVALID_ARGUMENT) return 23;
            o.progress = stop;
            if (csgis_smooth_regions(ctx, &o, &d, read_region, write_region, NULL) != CSGIS_ERR_CANCELLED) return 24;
            csgis_context_free(ctx);
            csgis_model_free(m);
            return 0;
        }
        """, args: "'\(Harness.tinyModel)'")
    }

    /// The hardening issue's C cases: each returns an error code (or OK), none aborts the host.
    func testHostileArgumentsThroughCReturnCodes() throws {
        try compileAndRunPrintsOK("hostile", """
        #define EXPECT(call, want, n) do { csgis_status s_ = (call); if (s_ != (want)) { \\
            fprintf(stderr, "case %d: status %d, want %d: %s\\n", n, s_, want, csgis_last_error()); return n; } } while (0)
        static int test(int argc, char **argv) {
            (void)argc; (void)argv;
            csgis_model *m = NULL;
            EXPECT(csgis_model_load(NULL, &m), CSGIS_OK, 1);
            csgis_context *ctx = NULL, *ctx32 = NULL;
            csgis_context_params cp = csgis_context_default_params();
            cp.threads = 200000;
            EXPECT(csgis_context_new(m, &cp, &ctx), CSGIS_ERR_INVALID_ARGUMENT, 20);
            EXPECT(csgis_context_new(m, NULL, &ctx), CSGIS_OK, 2);
            cp = csgis_context_default_params(); cp.precision = CSGIS_PRECISION_FP32;
            EXPECT(csgis_context_new(m, &cp, &ctx32), CSGIS_OK, 3);
            unsigned char px[8 * 8 * 3] = {0};
            csgis_image u8 = csgis_image_packed(8, 8, 3, CSGIS_U8);
            csgis_params o = csgis_default_params();
            float bad_strength[] = {NAN, -1.0f, -INFINITY, INFINITY, 1.5f};
            for (int i = 0; i < 5; i++) { o.strength = bad_strength[i]; EXPECT(csgis_smooth(ctx, &o, &u8, px, &u8, px), CSGIS_ERR_INVALID_ARGUMENT, 10 + i); }
            o = csgis_default_params(); o.tile_size = -3;
            EXPECT(csgis_smooth(ctx, &o, &u8, px, &u8, px), CSGIS_ERR_INVALID_ARGUMENT, 23);
            o = csgis_default_params(); o.tile_size = 1;
            EXPECT(csgis_smooth(ctx, &o, &u8, px, &u8, px), CSGIS_ERR_INVALID_ARGUMENT, 21);
            o = csgis_default_params(); o.memory_budget = (size_t)INT64_MAX + 10;
            EXPECT(csgis_smooth(ctx, &o, &u8, px, &u8, px), CSGIS_ERR_INVALID_ARGUMENT, 22);
            /* F32 with NaN samples (colour and alpha) into U8: no crash, at strength 0 and 1 */
            float f[8 * 8 * 4];
            for (int i = 0; i < 8 * 8 * 4; i++) f[i] = (i % 5 == 0) ? NAN : 0.5f;
            unsigned char d[8 * 8 * 4];
            csgis_image fs = csgis_image_packed(8, 8, 4, CSGIS_F32), ds = csgis_image_packed(8, 8, 4, CSGIS_U8);
            o = csgis_default_params(); o.strength = 0;
            EXPECT(csgis_smooth(ctx, &o, &fs, f, &ds, d), CSGIS_OK, 30);
            o.strength = 1;
            EXPECT(csgis_smooth(ctx32, &o, &fs, f, &ds, d), CSGIS_OK, 31);
            /* a valid 60000x60000 image with a 256 MB budget: an error code, not an abort */
            size_t n = (size_t)60000 * 60000 * 3;
            unsigned char *big = calloc(n, 1);  /* untouched pages: only address space */
            if (big) {
                csgis_image b = csgis_image_packed(60000, 60000, 3, CSGIS_U8);
                o = csgis_default_params(); o.memory_budget = 256u << 20;
                EXPECT(csgis_smooth(ctx, &o, &b, big, &b, big), CSGIS_ERR_OUT_OF_MEMORY, 40);
                free(big);
            }
            csgis_context_free(ctx);
            csgis_context_free(ctx32);
            csgis_model_free(m);
            return 0;
        }
        """, libs: "-lm")
    }

    func testUninstallRemovesEverything() throws {
        let p = Self.work.appendingPathComponent("p2"), home = Self.work.appendingPathComponent("home2")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let install = "'\(Harness.repo.path)/install.sh' --prefix '\(p.path)' --bin-dir '\(Harness.binDir)'"
        XCTAssertEqual(try Harness.sh(install, env: ["HOME": home.path], in: Harness.repo).status, 0)
        XCTAssertEqual(try Harness.sh(install, env: ["HOME": home.path], in: Harness.repo).status, 0, "idempotent")
        XCTAssertEqual(try Harness.sh("'\(Harness.repo.path)/install.sh' --prefix '\(p.path)' --uninstall", env: ["HOME": home.path], in: Harness.repo).status, 0)
        let left = try Harness.sh("find '\(p.path)' ! -type d; find '\(home.path)' -name 'csgis*'")
        XCTAssertEqual(String(decoding: left.stdout, as: UTF8.self), "")
    }

    /// share/csgis/imagemagick/delegates.xml (made from plugin-manifest/manifest.json, naming
    /// the installed filter), copied to ~/.config/ImageMagick as the README says: `convert
    /// csgis:IN OUT` smooths like the filter, with PATH=/usr/bin:/bin (no csgis-smooth on it).
    func testInstalledImageMagickDelegate() throws {
        let home = Self.work.appendingPathComponent("im-home"), config = home.appendingPathComponent(".config/ImageMagick")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.prefix.appendingPathComponent("share/csgis/imagemagick/delegates.xml"),
                                         to: config.appendingPathComponent("delegates.xml"))
        let env = ["HOME": home.path, "CSGIS_MODEL": Harness.tinyModel]
        for c in Harness.cases {
            let png = try Harness.makeInput(c, in: Self.work)
            let out = Self.work.appendingPathComponent("\(c.name)-delegate.png"), ref = Self.work.appendingPathComponent("\(c.name)-ref.png")
            let r = try Harness.sh("PATH=/usr/bin:/bin convert 'csgis:\(png.path)' '\(out.path)'", env: env)
            XCTAssertEqual(r.status, 0, "\(c.name): \(r.stderr)")
            XCTAssertEqual(try Harness.sh("\"$CSGIS\" --quiet --model '\(Harness.tinyModel)' '\(png.path)' '\(ref.path)'").status, 0)
            let got = try Harness.decode(file: out), want = try Harness.decode(file: ref)
            XCTAssertEqual(got.channels, want.channels, "\(c.name): channels")
            XCTAssertEqual(got.maxval, want.maxval, "\(c.name): depth")
            XCTAssertEqual(got.samples, want.samples, "\(c.name): delegate output differs from the filter's")
            XCTAssertNotEqual(got.samples, try Harness.decode(file: png).samples, "\(c.name): nothing was smoothed")
        }
    }
}
