import CFileOps
import Foundation

/// Where the result goes: stdout, or a file written atomically. A file output is written to
/// an unnamed file in the destination's folder (Linux O_TMPFILE), which gets a name only
/// when everything was written and is then renamed over the target, so no interruption,
/// SIGKILL included, leaves anything behind. Where O_TMPFILE is not supported it falls back
/// to a named temporary file, removed on failure and on SIGINT, SIGTERM and SIGHUP.
final class Output {
    let fd: Int32
    private let folder: String
    private var tempPath: String?
    private let finalPath: String?
    private var committed = false

    init(path: String?) throws {
        guard let path, path != "-" else {
            fd = 1; tempPath = nil; finalPath = nil; folder = "."
            return
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw FilterError("cannot write '\(path)': it is a directory")
        }
        let dir = (path as NSString).deletingLastPathComponent
        folder = dir.isEmpty ? "." : dir
        finalPath = path
        let unnamed = csgis_open_unnamed(folder)
        if unnamed >= 0 {
            fd = unnamed
            tempPath = nil
            return
        }
        var template = Array((folder + "/.csgis-smooth-XXXXXX").utf8CString)
        let f = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard f >= 0 else { throw FilterError("cannot write next to '\(path)': \(String(cString: strerror(errno)))") }
        fd = f
        tempPath = String(cString: template)
        csgis_cleanup_on_signal(tempPath)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FilterError("writing output failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    func commit() throws {
        guard let finalPath else { return }
        fchmod(fd, 0o644)
        guard fsync(fd) == 0 || errno == EINVAL else { throw FilterError("writing '\(finalPath)' failed: \(String(cString: strerror(errno)))") }
        if tempPath == nil {
            // Name the finished file beside the target (a fresh name: linkat never replaces), then rename it over.
            var linked = false
            for _ in 0..<16 where !linked {
                let name = folder + "/.csgis-smooth-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
                csgis_cleanup_on_signal(name)
                if csgis_link_unnamed(fd, name) == 0 { tempPath = name; linked = true } else if errno != EEXIST { break }
            }
            guard linked else {
                csgis_cleanup_on_signal(nil)
                throw FilterError("cannot create '\(finalPath)': \(String(cString: strerror(errno)))")
            }
        }
        guard close(fd) == 0 else { throw FilterError("closing output failed") }
        guard rename(tempPath!, finalPath) == 0 else {
            unlink(tempPath!)
            csgis_cleanup_on_signal(nil)
            throw FilterError("cannot create '\(finalPath)': \(String(cString: strerror(errno)))")
        }
        csgis_cleanup_on_signal(nil)
        committed = true
    }

    /// Removes the partial file (nothing is left behind on failure).
    func abandon() {
        guard finalPath != nil, !committed else { return }
        close(fd)
        if let tempPath { unlink(tempPath) }
        csgis_cleanup_on_signal(nil)
    }
}
