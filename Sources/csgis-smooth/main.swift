import ArgumentParser
import CSGISCore
import CSGISFilter
import CSGISImageIO
import Foundation

// The executable only parses and checks arguments; the filter itself is CSGISFilter.

struct CSGISSmooth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csgis-smooth",
        abstract: "Structure-preserving image smoothing (CSGIS-Net) as a stdin/stdout filter.",
        discussion: """
        Reads PAM, PGM/PPM (P2, P3, P5, P6) or PNG and writes the same format unless --format or the output \
        file's extension says otherwise. Grey stays grey, alpha passes through unchanged, 16-bit keeps 16 bits.
        Example: magick in.jpg pam:- | csgis-smooth | magick pam:- out.png
        """,
        version: "csgis-smooth \(CSGISVersion.string)")

    @Argument(help: "Input image, or - for stdin.") var input: String = "-"
    @Argument(help: "Output image, or - for stdout (files are written atomically).") var output: String = "-"
    @Option(help: "Model: a .safetensors path or a name (base, lite). (default: $CSGIS_MODEL, else \(ModelResolver.defaultName))") var model: String?
    // .unconditional: "--strength -1" is a value (then refused by validate), not a missing one
    @Option(parsing: .unconditional, help: "Smoothing strength 0...1 (0 returns the input exactly).") var strength: Double = 1
    @Option(help: ArgumentHelp("Arithmetic: \(Precision.names) (int8: faster, slightly less exact)."))
    var precision: String = "auto"
    @Option(parsing: .unconditional, help: "Threads (0 = all cores, at most 4 x the cores).") var threads: Int = 0
    @Option(help: "Memory budget, e.g. 512M or 4G (default: half of available memory).") var memory: String?
    @Option(parsing: .unconditional, help: "Force square tiles of this size (pixels, at least 32).") var tile: Int?
    @Option(help: "Output format: pam, pnm, png (default: like the input).") var format: String?
    @Flag(help: "No progress on stderr.") var quiet = false

    func validate() throws {
        do { try Plan.check(strength: strength) } catch { throw ValidationError("--strength must be in 0...1") }
        guard Precision(rawValue: precision) != nil else { throw ValidationError("--precision must be \(Precision.names)") }
        guard threads >= 0 else { throw ValidationError("--threads must be 0 or more") }
        guard threads <= Engine.maxThreads else {
            throw ValidationError("--threads \(threads) is more than \(Engine.maxThreads) (4 x the \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        }
        if let tile { guard tile >= TileGeometry.minTile else { throw ValidationError("--tile must be at least \(TileGeometry.minTile) pixels") } }
        if let memory {
            guard let b = FilterOptions.parseBytes(memory) else { throw ValidationError("--memory '\(memory)' is not a size such as 512M or 4G") }
            guard b >= 1 << 20 else { throw ValidationError("--memory '\(memory)' is less than 1M") }
        }
        if let format { guard FilterOptions.format(named: format) != nil else { throw ValidationError("--format must be pam, pnm or png") } }
    }

    /// The checked arguments as the filter's options.
    var filterOptions: FilterOptions {
        var o = FilterOptions()
        o.input = input; o.output = output; o.model = model; o.strength = strength
        o.precision = Precision(rawValue: precision)!; o.threads = threads
        o.memory = memory.flatMap(FilterOptions.parseBytes); o.tile = tile
        o.format = format.flatMap(FilterOptions.format(named:)); o.quiet = quiet
        return o
    }

    func run() throws {
        do {
            try FilterJob(options: filterOptions).run()
        } catch let e as ImageError {
            throw Failure(message: "\(input == "-" ? "stdin" : input): \(e)")
        } catch let e as CSGISError {
            throw Failure(message: "\(e)")
        } catch let e as FilterError {
            throw Failure(message: e.description)
        }
    }
}

/// A one-line error and exit status 1.
struct Failure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

do {
    var command = try CSGISSmooth.parseAsRoot()
    try command.run()
} catch let f as Failure {
    FileHandle.standardError.write("csgis-smooth: \(f.message)\n".data(using: .utf8)!)
    exit(1)
} catch {
    // Help and version print as usual; a usage error is one line (and EX_USAGE), like every other error.
    let code = CSGISSmooth.exitCode(for: error)
    if code == .success { CSGISSmooth.exit(withError: error) }
    let first = CSGISSmooth.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    FileHandle.standardError.write("csgis-smooth: \(first) (see csgis-smooth --help)\n".data(using: .utf8)!)
    exit(code.rawValue)
}
