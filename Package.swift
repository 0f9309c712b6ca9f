// swift-tools-version:6.0
import PackageDescription

// Chorus uses the Swift toolchain alone: no package dependencies.
// Modules import only modules below them (see docs/architecture.md):
//   ChorusBase → ChorusWire → ChorusMembership → ChorusSim / ChorusRuntime → ChorusCLI → chorus
let package = Package(
    name: "Chorus",
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
    ],
    targets: [
        .target(name: "ChorusBase"),
        .target(name: "ChorusWire", dependencies: ["ChorusBase"]),
        .target(name: "ChorusMembership", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusStorage", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusRaft", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusRing", dependencies: ["ChorusBase", "ChorusMembership"]),
        .target(name: "ChorusLocks", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusSim", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership"]),
        .target(name: "ChorusRuntime", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRaft", "ChorusStorage"]),
        .target(name: "ChorusCLI", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRing", "ChorusSim", "ChorusRuntime", "ChorusRaft", "ChorusStorage"]),
        .executableTarget(name: "chorus", dependencies: ["ChorusCLI"]),
        .testTarget(name: "ChorusWireTests", dependencies: ["ChorusBase", "ChorusWire"]),
        .testTarget(name: "ChorusRaftTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusRaft", "ChorusStorage"]),
        .testTarget(name: "ChorusLocksTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusLocks"]),
        .testTarget(name: "ChorusRingTests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusRing"]),
        .testTarget(name: "ChorusStorageTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusStorage"]),
        .testTarget(name: "ChorusMembershipTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership"]),
        .testTarget(name: "ChorusSimTests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusSim"]),
        .testTarget(name: "ChorusRuntimeTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRuntime"]),
        .testTarget(name: "ChorusCLITests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusRuntime", "ChorusCLI"]),
        .testTarget(name: "ChorusProcessTests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusRuntime"]),
    ],
    swiftLanguageModes: [.v6]
)
