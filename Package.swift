// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "csgis",
    products: [
        .library(name: "CSGISCore", targets: ["CSGISCore"]),
        // libcsgis.so: the C ABI (header: Sources/CSGISCHeader/include/csgis.h)
        .library(name: "csgis", type: .dynamic, targets: ["CSGISCAPI"]),
        .executable(name: "csgis-smooth", targets: ["csgis-smooth"]),
        .executable(name: "csgis-bench", targets: ["csgis-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // oneDNN (Debian: libdnnl-dev) through a small C layer; OpenMP for its threads. Its
        // Winograd kernel (winograd2.c) is optimised in debug builds too: at -O0 it ran the
        // test suite's planner tests 5x slower than the direct kernels it replaces.
        .target(name: "CDNNL", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))],
                linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        .target(name: "CSGISCore", dependencies: ["CDNNL", "CSGISCHeader"]),
        .target(name: "CSGISCHeader"),
        // Only csgis_* symbols are exported (exports.map), under the SONAME libcsgis.so.0.
        .target(name: "CSGISCAPI", dependencies: ["CSGISCore", "CSGISCHeader"], exclude: ["exports.map"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CSGISCAPI/exports.map",
                                               "-Xlinker", "-soname=libcsgis.so.0"])]),
        // libpng (Debian: libpng-dev) through a small C layer that contains its longjmp errors.
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16")]),
        .target(name: "CSGISImageIO", dependencies: ["CPNG"]),
        // O_TMPFILE and signal-time cleanup for the filter's atomic output.
        .target(name: "CFileOps"),
        // The filter: sniffing, reading whole or streamed, format choice, atomic output.
        .target(name: "CSGISFilter", dependencies: ["CSGISCore", "CSGISImageIO", "CFileOps"]),
        // A thin executable: arguments in, CSGISFilter's job out.
        .executableTarget(name: "csgis-smooth", dependencies: ["CSGISCore", "CSGISFilter", "CSGISImageIO",
                                                               .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "csgis-bench", dependencies: ["CSGISCore"]),
        // the parser tests' seeded mutation fuzzer (time-boxed by CSGIS_FUZZ_SECONDS)
        .target(name: "FuzzSupport", path: "Tests/FuzzSupport"),
        .testTarget(name: "CSGISCoreTests", dependencies: ["CSGISCore", "FuzzSupport"]),
        .testTarget(name: "CSGISImageIOTests", dependencies: ["CSGISImageIO", "FuzzSupport"]),
        .testTarget(name: "CSGISFilterTests", dependencies: ["CSGISFilter", "CSGISCore", "CSGISImageIO"]),
        .testTarget(name: "EndToEndTests", dependencies: ["CSGISCore", "CSGISImageIO"]),
    ]
)
