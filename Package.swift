// swift-tools-version:6.0
import PackageDescription

// Chorus uses the Swift toolchain alone: no package dependencies.
// Modules import only modules below them (see docs/architecture.md):
//   ChorusBase → ChorusWire → ChorusMembership → ChorusSim / ChorusRuntime → chorus
let package = Package(
    name: "Chorus",
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
    ],
    targets: [
        .target(name: "ChorusBase"),
        .target(name: "ChorusWire", dependencies: ["ChorusBase"]),
        .target(name: "ChorusMembership", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusSim", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership"]),
        .target(name: "ChorusRuntime", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership"]),
        .executableTarget(name: "chorus", dependencies: ["ChorusBase", "ChorusMembership", "ChorusSim", "ChorusRuntime"]),
        .testTarget(name: "ChorusWireTests", dependencies: ["ChorusBase", "ChorusWire"]),
        .testTarget(name: "ChorusMembershipTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership"]),
        .testTarget(name: "ChorusSimTests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusSim"]),
        .testTarget(name: "ChorusRuntimeTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRuntime"]),
        .testTarget(name: "ChorusProcessTests", dependencies: ["ChorusBase", "ChorusRuntime"]),
    ],
    swiftLanguageModes: [.v6]
)
