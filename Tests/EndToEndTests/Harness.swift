import CSGISCore
import CSGISImageIO
import Foundation
import XCTest

/// Runs the real csgis-smooth binary and the real image tools through bash.
enum Harness {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tinyModel = repo.appendingPathComponent("Tests/Fixtures/tiny-4x1.safetensors").path

    /// The build folder holding the test bundle also holds the executables.
    static var binary: String {
        let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent(),
                          repo.appendingPathComponent(".build/debug")]
            + (Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() })
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.appendingPathComponent("csgis-smooth").path) {
            return c.appendingPathComponent("csgis-smooth").path
        }
        return repo.appendingPathComponent(".build/debug/csgis-smooth").path
    }

    static var binDir: String { URL(fileURLWithPath: binary).deletingLastPathComponent().path }

    struct Result { var status: Int32; var stdout: Data; var stderr: String }

    /// A command that ran past its time limit: it and everything it started were killed.
    struct TimedOut: Error, CustomStringConvertible {
        var command: String, seconds: Int
        var description: String { "timed out after \(seconds) s and was killed: \(command)" }
    }

    /// Every command runs under coreutils' timeout, which kills its whole process group at
    /// `timeout` seconds (SIGKILL 10 s later if it lingers), so no test can hang CI.
    @discardableResult
    static func sh(_ command: String, stdin: Data? = nil, env: [String: String] = [:], in dir: URL? = nil,
                   timeout: Int = 300) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["-k", "10", "\(timeout)", "/bin/bash", "-o", "pipefail", "-c", command]
        var e = ProcessInfo.processInfo.environment
        e["CSGIS"] = binary
        for (k, v) in env { e[k] = v }
        p.environment = e
        if let dir { p.currentDirectoryURL = dir }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = inp
        let started = Date()
        try p.run()
        // The command may stop reading early (a refusal before the pixel data): its closed pipe
        // must be an error for the writer, not a SIGPIPE that ends the test process.
        signal(SIGPIPE, SIG_IGN)
        let writer = Thread {
            if let stdin { try? inp.fileHandleForWriting.write(contentsOf: stdin) }
            try? inp.fileHandleForWriting.close()
        }
        writer.start()
        final class Box: @unchecked Sendable { var data = Data() }
        let errData = Box()
        let done = DispatchSemaphore(value: 0)
        let errReader = Thread { errData.data = err.fileHandleForReading.readDataToEndOfFile(); done.signal() }
        errReader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        done.wait()
        // 124: timeout's status when the limit struck, 137: SIGKILLed after it (a command may
        // return those itself, so the time decides)
        if [124, 137].contains(p.terminationStatus), Date().timeIntervalSince(started) >= Double(timeout) {
            throw TimedOut(command: command, seconds: timeout)
        }
        return Result(status: p.terminationStatus, stdout: o, stderr: String(decoding: errData.data, as: UTF8.self))
    }

    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("csgis-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    static func decode(_ d: Data) throws -> SampleImage { try ImageFile.read(ByteReader(bytes: Array(d))) }
    static func decode(file: URL) throws -> SampleImage { try decode(try Data(contentsOf: file)) }

    /// What the library computes in memory for `img` at the default budget (the filter must
    /// give the same whatever its budget, tiles or threads).
    static func library(_ img: SampleImage, model: String = tinyModel, precision: Precision = .auto) throws -> SampleImage {
        let t = try Scheduler(model: try CSGISModel(contentsOf: model), precision: precision)
        let layout = try PixelLayout.samples(width: img.width, height: img.height, channels: img.channels, maxval: img.maxval)
        var out = img
        let n = layout.stride
        let rows = LayoutRows(input: layout, output: layout, passThrough: false, read: { first, count, dst in
            img.samples.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress! + first * n, byteCount: count * n) }
        }, write: { first, count, src in
            out.samples.withUnsafeMutableBytes { ($0.baseAddress! + first * n).copyMemory(from: src, byteCount: count * n) }
        })
        try t.run(try t.plan(width: img.width, height: img.height), source: rows, sink: rows)
        return out
    }

    /// ImageMagick options that make a textured test PNG of each layout.
    static let cases: [(name: String, make: String, channels: Int, maxval: Int)] = [
        ("grey8", "-colorspace Gray -depth 8 -define png:color-type=0", 1, 255),
        ("grey16", "-colorspace Gray -depth 16 -define png:color-type=0", 1, 65535),
        ("greyalpha8", "-colorspace Gray -alpha set -channel A -fx 'i/w' +channel -depth 8 -define png:color-type=4", 2, 255),
        ("greyalpha16", "-colorspace Gray -alpha set -channel A -fx 'i/w' +channel -depth 16 -define png:color-type=4", 2, 65535),
        ("rgb8", "-depth 8 -define png:color-type=2", 3, 255),
        ("rgb16", "-depth 16 -define png:color-type=2", 3, 65535),
        ("rgba8", "-alpha set -channel A -fx 'j/h' +channel -depth 8 -define png:color-type=6", 4, 255),
        ("rgba16", "-alpha set -channel A -fx 'j/h' +channel -depth 16 -define png:color-type=6", 4, 65535),
    ]

    static func makeInput(_ c: (name: String, make: String, channels: Int, maxval: Int), in dir: URL, size: String = "37x29") throws -> URL {
        let f = dir.appendingPathComponent("\(c.name).png")
        let r = try sh("convert -size \(size) plasma:red-blue -seed 3 +noise Gaussian \(c.make) '\(f.path)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        return f
    }
}
