/// An error of the filter itself (files, model lookup), printed as one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
