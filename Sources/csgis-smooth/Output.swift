import Foundation

/// Where the result goes: stdout, or a file written atomically (a temporary file in the
/// same folder, renamed over the target only when everything was written).
final class Output {
    let fd: Int32
    private let tempPath: String?
    private let finalPath: String?
    private var committed = false

    init(path: String?) throws {
        guard let path, path != "-" else {
            fd = 1; tempPath = nil; finalPath = nil
            return
        }
        let dir = (path as NSString).deletingLastPathComponent
        var template = Array(((dir.isEmpty ? "." : dir) + "/.csgis-smooth-XXXXXX").utf8CString)
        let f = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard f >= 0 else { throw CLIError("cannot write next to '\(path)': \(String(cString: strerror(errno)))") }
        fd = f
        tempPath = String(cString: template)
        finalPath = path
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError("writing output failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    func commit() throws {
        guard let tempPath, let finalPath else { return }
        fchmod(fd, 0o644)
        guard fsync(fd) == 0 || errno == EINVAL, close(fd) == 0 else { throw CLIError("closing output failed") }
        guard rename(tempPath, finalPath) == 0 else {
            unlink(tempPath)
            throw CLIError("cannot create '\(finalPath)': \(String(cString: strerror(errno)))")
        }
        committed = true
    }

    /// Removes the partial file (nothing is left behind on failure).
    func abandon() {
        guard let tempPath, !committed else { return }
        close(fd)
        unlink(tempPath)
    }
}
