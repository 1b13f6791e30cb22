/// The library's version (semantic versioning).
public enum CSGISVersion {
    public static let major = 0, minor = 1, patch = 0
    public static var string: String { "\(major).\(minor).\(patch)" }
}
