import ChorusBase
import ChorusMembership

/// Watches a simulated cluster from outside and keeps the figures a run reports:
/// convergence, detection times of crashes, false positives, suspicions, the timeline.
///
/// Invariant: `aliveSeen[o]` is the number of *live* nodes other than `o` that observer `o`
/// currently lists alive, kept exact by updating it on every membership event and on every
/// start, crash and departure (a bitset row per observer records which ones).
struct Observer {
    let n: Int
    let words: Int
    var seen: [UInt64]
    var aliveSeen: [Int32]
    var live: [Bool]
    var liveCount = 0
    var convergedAt: Instant?
    /// Nodes still to start in the initial bootstrap; convergence counts only after it.
    var pendingStarts: Int

    struct Crash { var node: Int; var at: Instant; var firstDead: Instant?; var detections: [Int: Instant] = [:]; var restarted = false }
    var crashes: [Crash] = []
    var openCrash: [Int: Int] = [:]
    var falsePositivePairs = Set<Int64>()
    var suspicions = 0
    var falseSuspicions = 0
    /// Members suspected while they were running (ascending when reported).
    var suspectedWhileLive = Set<Int>()
    var leaves: [(node: Int, at: Instant, seenByAll: Instant?)] = []

    // Timeline
    var aliveMin: [(Double, Double)] = []
    var aliveMean: [(Double, Double)] = []
    var aliveMax: [(Double, Double)] = []
    var suspicionsPerSecond: [(Double, Double)] = []
    var suspicionsThisSecond = 0
    var markers: [TimelineMarker] = []

    init(nodes: Int) {
        n = nodes
        words = (nodes + 63) / 64
        seen = Array(repeating: 0, count: nodes * words)
        aliveSeen = Array(repeating: 0, count: nodes)
        live = Array(repeating: false, count: nodes)
        pendingStarts = nodes
    }

    @inline(__always) func bit(_ o: Int, _ s: Int) -> Bool { seen[o * words + s >> 6] & (1 << UInt64(s & 63)) != 0 }

    mutating func set(_ o: Int, _ s: Int, _ on: Bool) {
        let w = o * words + s >> 6, mask: UInt64 = 1 << UInt64(s & 63)
        let was = seen[w] & mask != 0
        guard was != on else { return }
        if on { seen[w] |= mask } else { seen[w] &= ~mask }
        if live[s] { aliveSeen[o] += on ? 1 : -1 }
    }

    mutating func nodeStarted(_ i: Int, now: Instant) {
        if let k = openCrash.removeValue(forKey: i) { crashes[k].restarted = true }
        for w in 0..<words { seen[i * words + w] = 0 }
        aliveSeen[i] = 0
        guard !live[i] else { return }
        live[i] = true
        liveCount += 1
        for o in 0..<n where bit(o, i) { aliveSeen[o] += 1 }
    }

    mutating func nodeLeaving(_ i: Int, now: Instant) {
        leaves.append((i, now, nil))
        markNotLive(i)
    }

    mutating func nodeDeparted(_ i: Int, now: Instant, crashed: Bool) {
        markNotLive(i)
        if crashed {
            openCrash[i] = crashes.count
            crashes.append(Crash(node: i, at: now))
            markers.append(TimelineMarker(seconds: now.seconds, category: "crash", label: crashes.count <= 20 ? "crash n\(i)" : nil, color: "#d62728"))
        }
    }

    mutating func markNotLive(_ i: Int) {
        guard live[i] else { return }
        live[i] = false
        liveCount -= 1
        for o in 0..<n where bit(o, i) { aliveSeen[o] -= 1 }
    }

    mutating func record(_ kind: MemberEvent.Kind, observer o: Int, subject s: Int, now: Instant) {
        guard s >= 0 && s < n && s != o else { return }
        switch kind {
        case .joined, .alive:
            set(o, s, true)
        case .suspect:
            set(o, s, false)
            suspicions += 1
            suspicionsThisSecond += 1
            if live[s] { falseSuspicions += 1; suspectedWhileLive.insert(s) }
        case .dead, .left:
            set(o, s, false)
            if kind == .dead && live[s] && live[o] { falsePositivePairs.insert(Int64(o) * Int64(n) + Int64(s)) }
            if let k = openCrash[s], live[o] {
                if crashes[k].firstDead == nil {
                    crashes[k].firstDead = now
                    markers.append(TimelineMarker(seconds: now.seconds, category: "detection", label: k < 20 ? "n\(s) dead" : nil, color: "#2ca02c"))
                }
                if crashes[k].detections[o] == nil { crashes[k].detections[o] = now }
            }
        case .updated:
            break
        }
    }

    /// Every live node lists every other live node alive.
    func converged() -> Bool {
        guard liveCount > 0 && pendingStarts == 0 else { return false }
        let want = Int32(liveCount - 1)
        for o in 0..<n where live[o] && aliveSeen[o] != want { return false }
        return true
    }

    /// Notes convergence and, with `sample`, the spread of alive counts (`aliveCount(o)`: how
    /// many members node `o` lists alive, nil when it is down).
    mutating func check(now: Instant, sample: Bool, aliveCount: (Int) -> Int?) {
        if convergedAt == nil && converged() { convergedAt = now }
        guard sample else { return }
        var lo = Double.infinity, hi = 0.0, sum = 0.0, count = 0.0
        for o in 0..<n where live[o] {
            guard let alive = aliveCount(o) else { continue }
            let a = Double(alive)
            lo = min(lo, a); hi = max(hi, a); sum += a; count += 1
        }
        let t = now.seconds
        if count > 0 {
            aliveMin.append((t, lo)); aliveMax.append((t, hi)); aliveMean.append((t, sum / count))
        }
        suspicionsPerSecond.append((t, Double(suspicionsThisSecond)))
        suspicionsThisSecond = 0
    }
}
