import CSGISCHeader
import CSGISCore
import Foundation

// The C API's status codes, its per-thread last error and its version.

let errorKey: pthread_key_t = {
    var k = pthread_key_t()
    pthread_key_create(&k) { free($0) }
    return k
}()

func setError(_ message: String) {
    if let old = pthread_getspecific(errorKey) { free(old) }
    pthread_setspecific(errorKey, strdup(message))
}

func fail(_ status: csgis_status, _ message: String) -> csgis_status {
    setError(message)
    return status
}

func status(for error: Error) -> csgis_status {
    let m = "\(error)"
    switch error as? CSGISError {
    case .cannotRead?, .io?: return fail(CSGIS_ERR_IO, m)
    case .invalidWeights?: return fail(CSGIS_ERR_INVALID_MODEL, m)
    case .invalidImage?, .invalidArgument?: return fail(CSGIS_ERR_INVALID_ARGUMENT, m)
    case .unsupported?: return fail(CSGIS_ERR_UNSUPPORTED, m)
    case .outOfMemory?: return fail(CSGIS_ERR_OUT_OF_MEMORY, m)
    case .cancelled?: return fail(CSGIS_ERR_CANCELLED, m)
    case .backend?: return fail(CSGIS_ERR_INTERNAL, m)
    case nil: return error is CallbackFailure ? fail(CSGIS_ERR_CALLBACK, m) : fail(CSGIS_ERR_INTERNAL, m)
    }
}

struct CallbackFailure: Error, CustomStringConvertible {
    var description: String
}

@_cdecl("csgis_last_error")
public func cLastError() -> UnsafePointer<CChar> {
    if let p = pthread_getspecific(errorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    return UnsafePointer(emptyString)
}
let emptyString: UnsafeMutablePointer<CChar> = strdup("")!
let versionString: UnsafeMutablePointer<CChar> = strdup(CSGISVersion.string)!

@_cdecl("csgis_version")
public func cVersion() -> UnsafePointer<CChar> { UnsafePointer(versionString) }
