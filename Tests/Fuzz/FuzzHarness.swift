// libFuzzer entry point for the parsers (scripts/fuzz.sh builds it with -sanitize=fuzzer,address
// over instrumented CSGISImageIO, CPNG and CSGISCore). CSGIS_FUZZ_TARGET picks the parser:
//   image        the whole-image readers (PAM/PNM and PNG through libpng and the chunk guard)
//   png-rows     the streamed PNG row reader
//   safetensors  the weights parser
// A refusal must be the parser's own error type; anything else (a crash, a sanitizer report,
// another error) is a finding.
import CSGISCore
import CSGISImageIO
import Foundation

private enum Target: String { case image, pngRows = "png-rows", safetensors }

private let target: Target = {
    let name = ProcessInfo.processInfo.environment["CSGIS_FUZZ_TARGET"] ?? ""
    guard let t = Target(rawValue: name) else {
        FileHandle.standardError.write(Data("CSGIS_FUZZ_TARGET must be image, png-rows or safetensors (got '\(name)')\n".utf8))
        exit(2)
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch target {
    case .image:
        do { _ = try ImageFile.read(ByteReader(bytes: bytes)) } catch is ImageError {} catch { fatalError("not an ImageError: \(error)") }
    case .pngRows:
        do {
            let r = try PNGRowReader(input: ByteReader(bytes: bytes), prefix: [])
            // the caller's row buffer is the caller's choice: a header may claim a width this
            // fuzzer's memory limit would refuse, which says nothing about the reader
            guard r.width * r.channels <= 1 << 22 else { return 0 }
            var row = [UInt16](repeating: 0, count: r.width * r.channels)
            for _ in 0..<r.height { try row.withUnsafeMutableBufferPointer { try r.readRow(into: $0.baseAddress!) } }
        } catch is ImageError {} catch { fatalError("not an ImageError: \(error)") }
    case .safetensors:
        do { _ = try SafeTensors.parse(Data(bytes)) } catch is CSGISError {} catch { fatalError("not a CSGISError: \(error)") }
    }
    return 0
}
