import ChorusStorage
import Foundation
import Testing
@testable import ChorusQueue

/// The body log on a real disk (PosixFileSystem), at a backlog's size (2 M × 1 KiB bodies, 2 GiB),
/// for the figures in docs/performance.md. Off by default (minutes, gigabytes):
///
///     CHORUS_BODYLOG_BENCH=1 CHORUS_BODYLOG_MESSAGES=2000000 swift test --filter BodyLogBench
///
/// `backlog`: N × 1 KiB bodies kept (a backlog nobody consumes), checkpointed every 10,000 as
/// the shard host snapshots; then the store is dropped without close (what kill -9 leaves: the
/// page cache keeps every write) and reopened, and every body is read back. `oneNeverAcked`:
/// one body never removed while N pass through a window of 1,000 in flight; disk use sampled
/// at every checkpoint must stay under one segment plus the live and not-yet-released bytes.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CHORUS_BODYLOG_BENCH"] == "1"))
struct BodyLogBenchTests {
    static var messages: Int { Int(ProcessInfo.processInfo.environment["CHORUS_BODYLOG_MESSAGES"] ?? "") ?? 200_000 }

    static func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib * 1024
    }

    static func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let base = ProcessInfo.processInfo.environment["CHORUS_BODYLOG_DIR"] ?? FileManager.default.temporaryDirectory.path
        let dir = base + "/chorus-bodylog-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }

    static func body(_ o: UInt64) -> [UInt8] {
        var b = [UInt8](repeating: UInt8(truncatingIfNeeded: o), count: 1024)
        withUnsafeBytes(of: o.bigEndian) { for i in 0..<8 { b[i] = $0[i] } }
        return b
    }

    @Test func backlog() throws {
        try Self.withDirectory { dir in
            let n = Self.messages
            let rss0 = Self.residentBytes()
            let t0 = Date()
            var store: SegmentBodyStore? = try SegmentBodyStore(directory: dir + "/p", fileSystem: PosixFileSystem())
            for o in 1...UInt64(n) {
                store?.put(Self.body(o), at: o)
                if o % 10_000 == 0, let s = store { try s.release(try s.checkpoint()) }
            }
            let written = Date().timeIntervalSince(t0)
            let stats = try #require(store?.statistics)
            let rss1 = Self.residentBytes()
            store = nil // no close, no checkpoint: as after kill -9
            let t1 = Date()
            let again = try SegmentBodyStore(directory: dir + "/p", fileSystem: PosixFileSystem())
            let recovered = Date().timeIntervalSince(t1)
            #expect(again.statistics.liveBodies == n)
            var bad = 0
            for o in 1...UInt64(n) where again.body(at: o) != Self.body(o) { bad += 1 }
            #expect(bad == 0)
            print("BodyLogBench backlog: \(n) x 1 KiB in \(String(format: "%.1f", written)) s "
                  + "(\(Int(Double(n) / written)) puts/s); disk \(stats.fileBytes >> 20) MiB in \(stats.segments) segments; "
                  + "RSS \(rss0 >> 20) -> \(rss1 >> 20) MiB (index and buffers: \((rss1 - rss0) / max(n, 1)) B/message); "
                  + "reopen (scan) \(String(format: "%.1f", recovered)) s, every body read back: \(bad == 0)")
        }
    }

    @Test func oneNeverAcked() throws {
        try Self.withDirectory { dir in
            let n = Self.messages
            let store = try SegmentBodyStore(directory: dir + "/p", fileSystem: PosixFileSystem())
            store.put(Self.body(0), at: 0)
            var window: [UInt64] = []
            window.reserveCapacity(1001)
            var samples: [Int] = []
            for o in 1...UInt64(n) {
                store.put(Self.body(o), at: o)
                window.append(o)
                if window.count > 1000 { store.remove(window.removeFirst()) }
                if o % 10_000 == 0 {
                    try store.release(try store.checkpoint())
                    samples.append(store.statistics.fileBytes)
                }
            }
            #expect(store.body(at: 0) == Self.body(0))
            let half = samples.count / 2
            let firstMax = samples.prefix(half).max() ?? 0, secondMax = samples.suffix(from: half).max() ?? 0
            // Flat: never above the active segment, the live window and one checkpoint
            // interval of bodies waiting for release — however many pass.
            let bound = store.settings.segmentBytes + 1001 * 1040 + 2 * 10_000 * 1040
            #expect(max(firstMax, secondMax) <= bound, "disk \(firstMax) then \(secondMax), bound \(bound)")
            print("BodyLogBench oneNeverAcked: \(n) x 1 KiB passed, one never acked; disk after each checkpoint: "
                  + "max \(firstMax >> 20) MiB (first half), \(secondMax >> 20) MiB (second half), "
                  + "last \((samples.last ?? 0) >> 20) MiB; \(store.statistics.segments) segments")
        }
    }
}
