import CSGISCHeader

/// The library's version (semantic versioning), from csgis.h's CSGIS_VERSION_* macros: the
/// one place the version is written (install.sh, the plug-in's registration and the tests
/// read it from there; a test checks the man page).
public enum CSGISVersion {
    public static let major = Int(CSGIS_VERSION_MAJOR), minor = Int(CSGIS_VERSION_MINOR), patch = Int(CSGIS_VERSION_PATCH)
    public static var string: String { "\(major).\(minor).\(patch)" }
}
