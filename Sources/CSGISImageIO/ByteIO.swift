import Foundation

/// Buffered reading from a file descriptor (a file or a pipe such as stdin).
public final class ByteReader {
    private let fd: Int32
    private var buf: [UInt8]
    private var pos = 0, end = 0
    private let closeOnDeinit: Bool

    public init(fd: Int32, closeOnDeinit: Bool = false, bufferSize: Int = 1 << 16) {
        self.fd = fd
        self.closeOnDeinit = closeOnDeinit
        buf = [UInt8](repeating: 0, count: bufferSize)
    }

    /// Reads from memory (for tests and embedders).
    public init(bytes: [UInt8]) {
        fd = -1
        closeOnDeinit = false
        buf = bytes
        end = bytes.count
    }

    deinit { if closeOnDeinit { close(fd) } }

    /// Where the next byte lies in the file (nil for memory or a pipe): so a seekable file's
    /// remaining data can be read in place.
    public var fileOffset: Int? {
        guard fd >= 0 else { return nil }
        let at = lseek(fd, 0, SEEK_CUR)
        return at < 0 ? nil : Int(at) - (end - pos)
    }

    /// The file descriptor (-1 for memory).
    public var descriptor: Int32 { fd }

    private func fill() throws -> Bool {
        pos = 0
        end = 0
        if fd < 0 { return false }
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageError.io("read failed: \(String(cString: strerror(errno)))")
            }
            end = n
            return n > 0
        }
    }

    /// The next byte, or nil at the end of the input.
    public func next() throws -> UInt8? {
        if pos == end, !(try fill()) { return nil }
        defer { pos += 1 }
        return buf[pos]
    }

    /// Fills `count` bytes or throws `truncated(what)` with the number actually read.
    public func readExactly(_ count: Int, into p: UnsafeMutableRawPointer, what: String) throws {
        var got = 0
        while got < count {
            if pos == end, !(try fill()) { throw ImageError.truncated("\(what): expected \(count) more bytes, got \(got)") }
            let n = min(count - got, end - pos)
            buf.withUnsafeBytes { (p + got).copyMemory(from: $0.baseAddress! + pos, byteCount: n) }
            pos += n
            got += n
        }
    }

    /// Up to `count` bytes into `p`; returns how many (0 only at the end of the input).
    public func readSome(upTo count: Int, into p: UnsafeMutableRawPointer) throws -> Int {
        if count == 0 { return 0 }
        if pos == end, !(try fill()) { return 0 }
        let n = min(count, end - pos)
        buf.withUnsafeBytes { p.copyMemory(from: $0.baseAddress! + pos, byteCount: n) }
        pos += n
        return n
    }

    /// The next `count` bytes, fewer only at the end of the input.
    public func readBytes(atMost count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var n = 0
        while n < count {
            let got = try out.withUnsafeMutableBytes { try readSome(upTo: count - n, into: $0.baseAddress! + n) }
            if got == 0 { break }
            n += got
        }
        out.removeLast(count - n)
        return out
    }

    /// Everything left (for whole-file formats such as PNG).
    public func readAll(limit: Int) throws -> [UInt8] {
        var out = [UInt8](buf[pos..<end])
        pos = end
        while try fill() {
            out.append(contentsOf: buf[0..<end])
            pos = end
            if out.count > limit { throw ImageError.tooLarge("input is over \(limit) bytes") }
        }
        return out
    }
}
