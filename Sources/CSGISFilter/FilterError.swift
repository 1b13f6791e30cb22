/// An error of the filter itself (files, output), printed as one line.
public struct FilterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
