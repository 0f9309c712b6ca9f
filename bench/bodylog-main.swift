// The body log (SegmentBodyStore) on a real disk at a 2 M × 1 KiB backlog's size. Built by
// bench/queue-backlog.sh together with the ChorusBase/Wire/Storage/Queue sources as one
// optimised module (`swiftc -O -wmo`). Modes:
//   write DIR N       put N × 1 KiB bodies (offsets 1...N), checkpoint + release every 10,000
//                     (as the shard host snapshots), then SIGKILL itself: no close, no last
//                     checkpoint — what kill -9 leaves
//   recover DIR N     reopen (scan) in a fresh process, read back and check all N bodies
//   flat DIR N        one body never removed while N pass through a window of 1,000 in flight;
//                     prints disk use after every 100,000
import Foundation
import Glibc

func residentMiB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    let kib = s.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
    return kib / 1024
}

func peakMiB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    return (s.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0) / 1024
}

func body(_ o: UInt64) -> [UInt8] {
    var b = [UInt8](repeating: UInt8(truncatingIfNeeded: o &* 7), count: 1024)
    withUnsafeBytes(of: o.bigEndian) { for i in 0..<8 { b[i] = $0[i] } }
    return b
}

func duDirectoryMiB(_ dir: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    var total = 0
    for n in names { total += ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + n))?[.size] as? Int) ?? 0 }
    return total >> 20
}

let args = CommandLine.arguments
guard args.count == 4, let n = UInt64(args[3]) else {
    FileHandle.standardError.write("usage: bodylog write|recover|flat DIR N\n".data(using: .utf8)!)
    exit(2)
}
let dir = args[2]
let fs = PosixFileSystem()
do {
    switch args[1] {
    case "write":
        let t0 = Date()
        let store = try SegmentBodyStore(directory: dir, fileSystem: fs)
        for o in 1...n {
            store.put(body(o), at: o)
            if o % 10_000 == 0 { try store.release(try store.checkpoint()) }
        }
        let secs = Date().timeIntervalSince(t0)
        let st = store.statistics
        print("write: \(n) x 1 KiB in \(String(format: "%.1f", secs)) s (\(Int(Double(n) / secs)) puts/s); "
              + "\(st.segments) segments, \(st.fileBytes >> 20) MiB on disk; RSS \(residentMiB()) MiB, peak \(peakMiB()) MiB; kill -9 now")
        fflush(stdout)
        kill(getpid(), SIGKILL)
    case "recover":
        let t0 = Date()
        let store = try SegmentBodyStore(directory: dir, fileSystem: fs)
        let scan = Date().timeIntervalSince(t0)
        let rssAfterScan = residentMiB()
        var bad = 0
        for o in 1...n where store.body(at: o) != body(o) { bad += 1 }
        print("recover: scan \(String(format: "%.1f", scan)) s, \(store.statistics.liveBodies) bodies indexed "
              + "(cut: \(store.recoveryCut ?? "none")); RSS after scan \(rssAfterScan) MiB; "
              + "read back all \(n): \(bad) wrong or missing; peak \(peakMiB()) MiB")
        exit(bad == 0 && store.statistics.liveBodies == Int(n) ? 0 : 1)
    case "flat":
        let store = try SegmentBodyStore(directory: dir, fileSystem: fs)
        store.put(body(0), at: 0)
        var window: [UInt64] = []
        var head = 0
        var line = "flat: disk MiB every 100k:"
        var peak = 0
        for o in 1...n {
            store.put(body(o), at: o)
            window.append(o)
            if window.count - head > 1000 { store.remove(window[head]); head += 1 }
            if head > 100_000 { window.removeFirst(head); head = 0 }
            if o % 10_000 == 0 { try store.release(try store.checkpoint()) }
            if o % 100_000 == 0 { let mib = duDirectoryMiB(dir); peak = max(peak, mib); line += " \(mib)" }
        }
        // Flat: under the active segment, the live window and a checkpoint interval waiting for release.
        let boundMiB = (store.settings.segmentBytes + 1001 * 1040 + 2 * 10_000 * 1040) >> 20
        let ok = store.body(at: 0) == body(0) && peak <= boundMiB
        print(line + "; bound \(boundMiB) MiB; never-acked body intact: \(store.body(at: 0) == body(0)); "
              + "\(store.statistics.segments) segments; RSS \(residentMiB()) MiB, peak \(peakMiB()) MiB")
        exit(ok ? 0 : 1)
    default:
        exit(2)
    }
} catch {
    print("error: \(error)")
    exit(1)
}
