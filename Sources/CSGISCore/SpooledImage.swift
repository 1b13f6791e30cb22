import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A row stream made random-access: its rows are spooled to an unlinked temporary file, the
/// scheduler runs full-height strips over it (reading and writing by column range, as over an
/// image in memory), and the results, spooled to a second file, are then written out in
/// order. For a stream too wide for the budget this replaces bands, which recompute a halo
/// above and below every band, with strips, which recompute it only at their sides; the
/// memory held stays a few rows (the page cache holds the files, not the process). The files
/// have no name from the moment they exist, so nothing is left behind, even after a crash.
/// An input that already lies in a seekable file (a raw netpbm file: `InputFile`) is read
/// where it lies; only the results are spooled.
final class SpooledImage {
    let input: PixelLayout, output: PixelLayout
    let directory: String
    private let inFD: Int32, outFD: Int32
    /// Where row 0 of the input starts in inFD (0 for a spool file).
    private let inOffset: Int
    /// Whether the input is the caller's file, so there is nothing to fill.
    let inputInPlace: Bool
    private let inPixel: Int, outPixel: Int

    /// Where the files go: $TMPDIR, else /var/tmp (meant for large temporary files, on disk
    /// where /tmp may be a tmpfs), else /tmp.
    static var defaultDirectory: String {
        let t = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        if !t.isEmpty { return t }
        return access("/var/tmp", W_OK | X_OK) == 0 ? "/var/tmp" : "/tmp"
    }

    /// Whether `directory` lives in memory (tmpfs, ramfs): a spool there would spend the RAM
    /// the budget keeps, so it is not used.
    /// (The file system of the longest mount point above it, from /proc/self/mounts.)
    static func isInMemory(_ directory: String) -> Bool {
        guard let real = realpath(directory, nil) else { return false }
        let path = String(cString: real)
        free(real)
        // procfs files report size 0: read as a stream
        guard let h = FileHandle(forReadingAtPath: "/proc/self/mounts") else { return false }
        var best = (length: -1, type: "")
        for line in String(decoding: h.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 3 else { continue }
            let mount = f[1].replacingOccurrences(of: "\\040", with: " ")
            let above = mount == "/" || path == mount || path.hasPrefix(mount + "/")
            if above && mount.count >= best.length { best = (mount.count, String(f[2])) }
        }
        return ["tmpfs", "ramfs"].contains(best.type)
    }

    /// Bytes the files take on disk (nil: more than any disk): the output's, and the input's
    /// unless it is read in place.
    static func bytes(input: PixelLayout, output: PixelLayout, inputInPlace: Bool = false) -> UInt64? {
        let (row, o1) = UInt64(inputInPlace ? 0 : input.rowBytes).addingReportingOverflow(UInt64(output.rowBytes))
        let (all, o2) = row.multipliedReportingOverflow(by: UInt64(input.height))
        return o1 || o2 ? nil : all
    }

    /// Whether `directory` can take the spool's files: not in memory, and room for them
    /// beside a 64 MB margin. The planner asks before any row is read, so a stream without
    /// room runs in bands instead and loses nothing.
    static func hasRoom(input: PixelLayout, output: PixelLayout, inputInPlace: Bool, directory: String = defaultDirectory) -> Bool {
        var fs = statvfs()
        guard !isInMemory(directory), let need = bytes(input: input, output: output, inputInPlace: inputInPlace), need < UInt64.max >> 1,
              statvfs(directory, &fs) == 0,
              case let (free, o) = UInt64(fs.f_bavail).multipliedReportingOverflow(by: UInt64(fs.f_frsize))
        else { return false }
        return o || free >= need + (64 << 20)
    }

    /// Opens the two files in `directory` (`hasRoom` said they fit).
    /// `file`: the input's packed rows already lie in this file (in `input`'s layout, from
    /// `offset` on); the file is read, never written, and the caller keeps its descriptor.
    init(input: PixelLayout, output: PixelLayout, directory: String = defaultDirectory, file: (fd: Int32, offset: Int)? = nil) throws {
        func refused() -> CSGISError { CSGISError.io("cannot make a temporary spool in \(directory): \(String(cString: strerror(errno)))") }
        let a = file.map { fcntl($0.fd, F_DUPFD_CLOEXEC, 0) } ?? SpooledImage.unnamedFile(in: directory)
        guard a >= 0 else { throw refused() }
        let b = SpooledImage.unnamedFile(in: directory)
        guard b >= 0 else {
            let e = refused()  // before close() can change errno
            close(a)
            throw e
        }
        self.input = input; self.output = output; self.directory = directory; inFD = a; outFD = b
        inOffset = file?.offset ?? 0; inputInPlace = file != nil
        inPixel = input.channels * input.sample.bytes
        outPixel = output.channels * output.sample.bytes
    }

    deinit { close(inFD); close(outFD) }

    /// A file opened read-write and unlinked at once.
    private static func unnamedFile(in directory: String) -> Int32 {
        var template = Array((directory + "/csgis-spool-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return -1 }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // not inherited by a host's child processes
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    /// Reads every row from `read` (the caller's layout, `input.stride` apart) into the spool;
    /// `progress` is told the fraction of rows moved.
    func fill(_ read: LayoutRows.RowTransfer, progress: (Double) throws -> Void = { _ in }, shouldStop: () -> Bool) throws {
        try pass(input, inFD, intoFile: true, read, progress: progress, shouldStop: shouldStop)
    }

    /// Writes every result row to `write` (the caller's layout, `output.stride` apart).
    func drain(_ write: LayoutRows.RowTransfer, progress: (Double) throws -> Void = { _ in }, shouldStop: () -> Bool) throws {
        try pass(output, outFD, intoFile: false, write, progress: progress, shouldStop: shouldStop)
    }

    /// Moves every row between the caller (rows `layout.stride` apart) and a spool file
    /// (packed rows), about 1 MB at a time, top to bottom.
    private func pass(_ layout: PixelLayout, _ fd: Int32, intoFile: Bool, _ caller: LayoutRows.RowTransfer,
                      progress: (Double) throws -> Void, shouldStop: () -> Bool) throws {
        let n = max(1, min(layout.height, (1 << 20) / layout.stride))
        var buf = [UInt8](repeating: 0, count: n * layout.stride)
        var y = 0
        while y < layout.height {
            if shouldStop() { throw CSGISError.cancelled }
            let c = min(n, layout.height - y)
            try buf.withUnsafeMutableBytes { b in
                if intoFile { try caller(y, c, b.baseAddress!) }
                for r in 0..<c {
                    try transfer(intoFile ? pwrite : pread, fd, b.baseAddress! + r * layout.stride, layout.rowBytes,
                                 (y + r) * layout.rowBytes, intoFile ? "write" : "read")
                }
                if !intoFile { try caller(y, c, b.baseAddress!) }
            }
            y += c
            try progress(Double(y) / Double(layout.height))
        }
    }

    /// The spooled pixels as an image the scheduler reads and writes by rectangle.
    private(set) lazy var image = RegionImage(input: input, output: output, read: { [unowned self] x, y, w, h, p, s in
        for r in 0..<h {
            try transfer(pread, inFD, p + r * s, w * inPixel, inOffset + (y + r) * input.rowBytes + x * inPixel, "read")
        }
    }, write: { [unowned self] x, y, w, h, p, s in
        for r in 0..<h {
            try transfer(pwrite, outFD, p + r * s, w * outPixel, (y + r) * output.rowBytes + x * outPixel, "write")
        }
    })

    /// The whole of `count` bytes at `offset`, through pread or pwrite (which may move less).
    private func transfer(_ op: (Int32, UnsafeMutableRawPointer, Int, off_t) -> Int, _ fd: Int32, _ p: UnsafeMutableRawPointer,
                          _ count: Int, _ offset: Int, _ what: String) throws {
        var done = 0
        while done < count {
            let n = op(fd, p + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let why = n < 0 ? String(cString: strerror(errno)) : "the file ended early"
                if fd == inFD && inputInPlace { throw CSGISError.io("cannot read the input file: \(why)") }
                throw CSGISError.io("cannot \(what) the temporary spool in \(directory) (set TMPDIR to another disk, "
                                    + "or raise the memory budget): \(why)")
            }
            done += n
        }
    }
}

private func pwrite(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int, _ o: off_t) -> Int { Glibc.pwrite(fd, p, n, o) }
private func pread(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int, _ o: off_t) -> Int { Glibc.pread(fd, p, n, o) }
