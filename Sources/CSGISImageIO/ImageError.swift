/// Errors of the image codecs: each names the problem for a one-line message.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    case empty
    case badMagic(String)
    case badHeader(String)
    case unsupported(String)
    case truncated(String)
    case tooLarge(String)
    case corrupt(String)
    case io(String)

    public var description: String {
        switch self {
        case .empty: return "empty input: no image data"
        case let .badMagic(m): return "not a supported image (PAM, PGM, PPM or PNG): \(m)"
        case let .badHeader(m): return "bad image header: \(m)"
        case let .unsupported(m): return "unsupported image: \(m)"
        case let .truncated(m): return "truncated image data: \(m)"
        case let .tooLarge(m): return "image too large: \(m)"
        case let .corrupt(m): return "corrupt image: \(m)"
        case let .io(m): return m
        }
    }
}
