import Foundation

/// Finds the `chorus` executable the tests run: `$CHORUS_BINARY` if set, else the one next
/// to the running test bundle (same build directory and configuration), else
/// `.build/debug/chorus` under the package root. Invariant: `url()` either returns an
/// executable file or throws a message saying where it looked and how to build it.
enum ChorusBinary {
    struct Missing: Error, CustomStringConvertible {
        let looked: [String]
        var description: String {
            "chorus executable not found (looked at \(looked.joined(separator: ", "))); build it with `swift build` or set CHORUS_BINARY"
        }
    }

    static func url() throws -> URL {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["CHORUS_BINARY"], !env.isEmpty { candidates.append(env) }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // .build/<triple>/debug/ChorusPackageTests.xctest → .build/<triple>/debug/chorus
        candidates.append(me.deletingLastPathComponent().appendingPathComponent("chorus").path)
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                candidates.append(dir.appendingPathComponent(".build/debug/chorus").path)
                break
            }
            dir.deleteLastPathComponent()
        }
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        throw Missing(looked: candidates)
    }
}
