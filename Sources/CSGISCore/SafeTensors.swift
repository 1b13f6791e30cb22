import Foundation

/// A tensor read from a safetensors file, converted to Float32.
public struct Tensor: Sendable {
    public var shape: [Int]
    public var values: [Float]
}

/// Reader for the safetensors container: an 8-byte little-endian header length, a JSON
/// header (name -> dtype, shape, data_offsets; plus string metadata) and raw little-endian
/// tensor bytes. Every size and offset is checked before use, so a truncated or corrupted
/// file gives an error naming the problem rather than a crash.
public enum SafeTensors {
    /// Largest header accepted; real ones are a few tens of kilobytes.
    static let maxHeaderBytes = 64 << 20

    public static func read(path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CSGISError.cannotRead(path: path, reason: "no such file")
        }
        guard !isDir.boolValue else { throw CSGISError.cannotRead(path: path, reason: "is a directory") }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw CSGISError.cannotRead(path: path, reason: "not a regular file")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
            throw CSGISError.cannotRead(path: path, reason: error.localizedDescription)
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String = "<memory>") throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        func bad(_ r: String) -> CSGISError { .invalidWeights(path: path, reason: r) }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes, too short for a safetensors header") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n >= 2, n <= UInt64(maxHeaderBytes), n <= UInt64(data.count - 8) else {
            throw bad("header length \(n) does not fit the file of \(data.count) bytes (truncated or not safetensors)")
        }
        let headerBytes = data.subdata(in: data.startIndex + 8 ..< data.startIndex + 8 + Int(n))
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let mm = m as? [String: Any] else { throw bad("__metadata__ is not an object") }
            for (k, v) in mm {
                guard let s = v as? String else { throw bad("metadata '\(k)' is not a string") }
                metadata[k] = s
            }
        }
        let base = 8 + Int(n)
        let payload = data.count - base
        var tensors: [String: Tensor] = [:]
        for (name, entry) in header where name != "__metadata__" {
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String,
                  let shapeAny = e["shape"] as? [Any], let offsAny = e["data_offsets"] as? [Any], offsAny.count == 2
            else { throw bad("tensor '\(name)' has no dtype, shape and data_offsets") }
            let shape = try shapeAny.map { v -> Int in
                guard let i = (v as? NSNumber)?.intValue, i >= 0, i < 1 << 31 else { throw bad("tensor '\(name)' has a bad shape") }
                return i
            }
            let offs = try offsAny.map { v -> Int in
                guard let i = (v as? NSNumber)?.int64Value, i >= 0, i <= Int64(payload) else {
                    throw bad("tensor '\(name)' data lies beyond the end of the file (truncated?)")
                }
                return Int(i)
            }
            let elemSize: Int
            switch dtype {
            case "F32": elemSize = 4
            case "F16", "BF16": elemSize = 2
            default: throw bad("tensor '\(name)' has dtype \(dtype); F32, F16 and BF16 are supported")
            }
            // The shape's element count, checked against the payload before anything is allocated.
            var count = 1
            for d in shape {
                let (c, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, c <= payload / elemSize else {
                    throw bad("tensor '\(name)' has shape \(shape), more than the file's \(payload) bytes of data hold")
                }
                count = c
            }
            guard offs[1] >= offs[0], offs[1] - offs[0] == count * elemSize else {
                throw bad("tensor '\(name)' holds \(offs[1] - offs[0]) bytes, its shape \(shape) needs \(count * elemSize)")
            }
            var values = [Float](repeating: 0, count: count)
            let start = data.startIndex + base + offs[0]
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let p = raw.baseAddress!.advanced(by: start - data.startIndex)
                values.withUnsafeMutableBufferPointer { out in
                    switch dtype {
                    case "F32":
                        for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                    case "F16":
                        for i in 0..<count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                    default:
                        for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                    }
                }
            }
            // A NaN or infinity in the weights would make every output pixel it reaches undefined.
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw CSGISError.invalidWeights(path: path, reason: "tensor '\(name)' holds \(values[bad]) at index \(bad); weights must be finite")
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }
}
