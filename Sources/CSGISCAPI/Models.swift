import CSGISCHeader
import CSGISCore
import Foundation

// Loading models and the opaque handles the C API hands out.

/// This library's own file (from the process's memory map), so that model names resolve
/// to PREFIX/share/csgis/models beside it. (procfs files report size 0: read as a stream.)
func libraryFile() -> URL {
    if let h = FileHandle(forReadingAtPath: "/proc/self/maps"), case let maps = String(decoding: h.readDataToEndOfFile(), as: UTF8.self),
       let line = maps.split(separator: "\n").first(where: { $0.hasSuffix("/libcsgis.so") || $0.contains("/libcsgis.so.") }),
       let slash = line.firstIndex(of: "/") {
        return URL(fileURLWithPath: String(line[slash...]))
    }
    return URL(fileURLWithPath: "/usr/local/lib/libcsgis.so")
}

@_cdecl("csgis_model_load")
public func cModelLoad(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> csgis_status {
    guard let out else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "csgis_model_load: out is NULL") }
    out.pointee = nil
    do {
        let file = try ModelResolver.resolve(path.map { String(cString: $0) }, besideExecutableAt: libraryFile())
        let model = try CSGISModel(contentsOf: file)
        out.pointee = handle(model)
        return CSGIS_OK
    } catch { return status(for: error) }
}

@_cdecl("csgis_model_free")
public func cModelFree(_ model: OpaquePointer?) { release(model, CSGISModel.self) }

/// A handle for the caller: the object retained until `release`.
func handle(_ o: AnyObject) -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(o).toOpaque()) }
/// The object behind a handle (not retained).
func object<T: AnyObject>(_ p: OpaquePointer?, _: T.Type) -> T? {
    p.map { Unmanaged<T>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue() }
}
/// Ends a handle (NULL is ignored).
func release<T: AnyObject>(_ p: OpaquePointer?, _: T.Type) {
    p.map { Unmanaged<T>.fromOpaque(UnsafeRawPointer($0)).release() }
}
func modelFrom(_ p: OpaquePointer?) -> CSGISModel? { object(p, CSGISModel.self) }

@_cdecl("csgis_model_get_info")
public func cModelGetInfo(_ model: OpaquePointer?, _ info: UnsafeMutablePointer<csgis_model_info>?) -> csgis_status {
    guard let m = modelFrom(model), let info else { return fail(CSGIS_ERR_INVALID_ARGUMENT, "csgis_model_get_info: NULL argument") }
    info.pointee = csgis_model_info(dim: Int32(m.config.dim), num_block: Int32(m.config.numBlock),
                                    receptive_radius: Int32(m.config.receptiveRadius), parameters: Int64(m.config.parameterCount))
    return CSGIS_OK
}
