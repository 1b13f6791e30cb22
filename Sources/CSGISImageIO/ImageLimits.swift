/// Limits that turn absurd headers into clear errors before any allocation (every reader's).
public enum ImageLimits {
    /// Largest accepted width or height.
    public static var maxDimension = 1 << 19          // 524288
    /// Largest accepted pixel count (streamed formats; PNG is decoded in memory).
    public static var maxPixels = 1 << 34             // about 17 gigapixels
}
