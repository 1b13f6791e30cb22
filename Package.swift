// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "csgis",
    products: [
        .library(name: "CSGISCore", targets: ["CSGISCore"]),
        .executable(name: "csgis-bench", targets: ["csgis-bench"]),
    ],
    targets: [
        // oneDNN (Debian: libdnnl-dev) through a small C layer; OpenMP for its threads.
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        .target(name: "CSGISCore", dependencies: ["CDNNL"]),
        .executableTarget(name: "csgis-bench", dependencies: ["CSGISCore"]),
        .testTarget(name: "CSGISCoreTests", dependencies: ["CSGISCore"], exclude: ["../Fixtures"]),
    ]
)
