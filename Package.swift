// swift-tools-version:6.0
import PackageDescription

// Chorus uses the Swift toolchain alone: no package dependencies.
// Modules import only modules below them (see docs/architecture.md):
//   ChorusBase → ChorusWire → ChorusMembership → ChorusRing → … → ChorusShards → ChorusNode → ChorusSim / ChorusRuntime → ChorusCLI → chorus
let package = Package(
    name: "Chorus",
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        // A node embedded in a Swift program: `Agent` (start, stop, `localCacheValue(of:)`)
        // over the node core (docs/embedding.md).
        .library(name: "ChorusKit", targets: ["ChorusBase", "ChorusCache", "ChorusNode", "ChorusRuntime"]),
    ],
    targets: [
        .target(name: "ChorusBase"),
        // OpenSSL's libcrypto (Debian: libssl-dev), for AES-256-GCM; never hand-rolled crypto.
        // The header only: libcrypto itself is loaded when a key is first used (ChorusSeal/LibCrypto.swift).
        .systemLibrary(name: "CLibCrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "ChorusSeal", dependencies: ["ChorusBase", "CLibCrypto"]),
        .target(name: "ChorusWire", dependencies: ["ChorusBase"]),
        .target(name: "ChorusMembership", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusStorage", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusRaft", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusRing", dependencies: ["ChorusBase", "ChorusMembership"]),
        .target(name: "ChorusLocks", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusQueue", dependencies: ["ChorusBase", "ChorusWire", "ChorusStorage"]),
        .target(name: "ChorusCache", dependencies: ["ChorusBase", "ChorusWire"]),
        .target(name: "ChorusShards", dependencies: ["ChorusBase", "ChorusWire", "ChorusRaft", "ChorusRing", "ChorusStorage", "ChorusLocks", "ChorusQueue"]),
        .target(name: "ChorusNode", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRaft", "ChorusRing", "ChorusShards", "ChorusLocks", "ChorusQueue", "ChorusCache"]),
        .target(name: "ChorusSim", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRaft", "ChorusRing", "ChorusShards", "ChorusStorage", "ChorusLocks", "ChorusNode", "ChorusQueue", "ChorusCache"]),
        .target(name: "ChorusRuntime", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRing", "ChorusRaft", "ChorusShards", "ChorusLocks", "ChorusStorage", "ChorusNode", "ChorusSeal", "ChorusQueue", "ChorusCache"]),
        .target(name: "ChorusCLI", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRing", "ChorusSim", "ChorusRuntime", "ChorusRaft", "ChorusShards", "ChorusLocks", "ChorusStorage", "ChorusSeal", "ChorusQueue", "ChorusNode", "ChorusCache"]),
        // Release builds on Linux link with the toolchain's lld and pack the relative
        // relocations (DT_RELR, glibc 2.36+): a position-independent binary whose ~80,000
        // relocations take 16 KiB instead of 2 MiB that every process maps at start
        // (docs/performance.md, "Shards: quiescent idle groups").
        .executableTarget(name: "chorus", dependencies: ["ChorusCLI"],
                          linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
                                                        .when(platforms: [.linux], configuration: .release))]),
        .testTarget(name: "ChorusSealTests", dependencies: ["ChorusBase", "ChorusSeal"]),
        .testTarget(name: "ChorusWireTests", dependencies: ["ChorusBase", "ChorusWire"]),
        .testTarget(name: "ChorusRaftTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusRaft", "ChorusStorage", "ChorusSim"]),
        .testTarget(name: "ChorusLocksTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusLocks"]),
        .testTarget(name: "ChorusQueueTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusStorage", "ChorusQueue"]),
        .testTarget(name: "ChorusCacheTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusCache"]),
        .testTarget(name: "ChorusRingTests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusRing"]),
        .testTarget(name: "ChorusShardsTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusRaft", "ChorusRing", "ChorusStorage", "ChorusShards", "ChorusQueue"]),
        .testTarget(name: "ChorusStorageTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusStorage"]),
        .testTarget(name: "ChorusMembershipTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership"]),
        .testTarget(name: "ChorusNodeTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRaft", "ChorusRing", "ChorusShards", "ChorusStorage", "ChorusLocks", "ChorusNode", "ChorusSim", "ChorusQueue", "ChorusCache"]),
        .testTarget(name: "ChorusSimTests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusSim", "ChorusShards", "ChorusRaft", "ChorusRing", "ChorusLocks"]),
        .testTarget(name: "ChorusRuntimeTests", dependencies: ["ChorusBase", "ChorusWire", "ChorusMembership", "ChorusRing", "ChorusRuntime", "ChorusSeal"]),
        .testTarget(name: "ChorusCLITests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusRing", "ChorusRuntime", "ChorusCLI", "ChorusSeal", "ChorusQueue"]),
        .testTarget(name: "ChorusProcessTests", dependencies: ["ChorusBase", "ChorusMembership", "ChorusRing", "ChorusRuntime", "ChorusQueue", "ChorusSim"]),
    ],
    swiftLanguageModes: [.v6]
)
