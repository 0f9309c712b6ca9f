import ChorusBase
import ChorusCache

/// What the clients of a whole-node cache run observed, and the cache's promises checked
/// against it, per key:
/// - single writer / multiple readers at every instant: when a node may write (E, M, or an
///   owner's write in flight) and read its copy, no other node may read one;
/// - reads are linearizable: a read returns the value of a write that began before the read
///   ended and that no other write overwrote completely before the read began (the initial
///   "no value" counts as a write that ended before time began). A write whose client never
///   learned its outcome counts as never ending, so it may take effect at any later time;
/// - no new-then-old: a read that began after another read ended never returns a value
///   written (completely) before the value the earlier read returned was written.
///
/// Times are the simulation's (real) time, never a node's drifting clock. Every written value
/// is unique, so a read names the write it saw.
struct NodeCacheHistory {
    struct Write { var value: [UInt8]?; var start: Instant; var end: Instant?; var client: Int }
    struct Read { var value: [UInt8]?; var start: Instant; var end: Instant; var node: Int; var client: Int }

    private(set) var violations: [String] = []
    private var writes: [Int: [Write]] = [:]
    private var reads: [Int: [Read]] = [:]
    static let reportLimit = 20

    mutating func note(_ text: String) {
        if violations.count < Self.reportLimit { violations.append(text) }
    }

    /// `copies` lists, for key `key` at `now`, every node that may read it and its state.
    mutating func checkSingleWriter(_ key: Int, _ copies: [(node: Int, state: LineState)], at now: Instant) {
        guard copies.count > 1, let writer = copies.first(where: { $0.state.isWriter }) else { return }
        let others = copies.filter { $0.node != writer.node }.map { "n\($0.node) \($0.state)" }
        note("\(now) k\(key): n\(writer.node) in \(writer.state) while \(others.joined(separator: ", ")) can read")
    }

    mutating func recordWrite(_ key: Int, value: [UInt8]?, start: Instant, end: Instant?, client: Int) {
        writes[key, default: []].append(Write(value: value, start: start, end: end, client: client))
    }

    mutating func recordRead(_ key: Int, value: [UInt8]?, start: Instant, end: Instant, node: Int, client: Int) {
        reads[key, default: []].append(Read(value: value, start: start, end: end, node: node, client: client))
    }

    var readCount: Int { reads.values.reduce(0) { $0 + $1.count } }

    /// Every read against the writes of its key.
    mutating func checkReads() {
        for key in reads.keys.sorted() {
            let ws = [Write(value: nil, start: .zero - .seconds(1), end: .zero - .seconds(1), client: -1)] + (writes[key] ?? [])
            for r in reads[key] ?? [] {
                let candidates = ws.filter { $0.value == r.value }
                guard !candidates.isEmpty else {
                    note("k\(key): n\(r.node) read \(text(r.value)) in [\(r.start), \(r.end)], a value never written")
                    continue
                }
                let began = candidates.filter { $0.start < r.end }
                guard !began.isEmpty else {
                    note("k\(key): n\(r.node) read \(text(r.value)) in [\(r.start), \(r.end)] before its write began")
                    continue
                }
                let live = began.filter { w in
                    guard let end = w.end else { return true }
                    return !ws.contains { w2 in
                        guard let end2 = w2.end else { return false }
                        return w2.start > end && end2 < r.start
                    }
                }
                if live.isEmpty, let w = began.last, let end = w.end,
                   let newer = ws.first(where: { w2 in w2.end.map { w2.start > end && $0 < r.start } ?? false }) {
                    note("k\(key): n\(r.node) (client \(r.client)) read \(text(r.value)) in [\(r.start), \(r.end)], but \(text(newer.value)) "
                         + "was written in [\(newer.start), \(newer.end.map { "\($0)" } ?? "?")] after it ended at \(end)")
                }
            }
        }
    }

    /// Pairs of reads ordered by real time against the writes they saw. Only writes of a
    /// value are compared (deletes share one value and do not name their write).
    mutating func checkReadOrder() {
        for key in reads.keys.sorted() {
            var byValue: [[UInt8]: Write] = [:]
            for w in writes[key] ?? [] { if let v = w.value { byValue[v] = w } }
            let seen = (reads[key] ?? []).compactMap { r in r.value.flatMap { byValue[$0] }.map { (r, $0) } }.sorted { $0.0.end < $1.0.end }
            for (i, (r1, w1)) in seen.enumerated() {
                for (r2, w2) in seen[(i + 1)...] where r2.start > r1.end {
                    guard let end2 = w2.end, end2 < w1.start else { continue }
                    note("k\(key): n\(r2.node) read \(text(w2.value)) in [\(r2.start), \(r2.end)] after n\(r1.node) had read the newer "
                         + "\(text(w1.value)) in [\(r1.start), \(r1.end)]")
                    break
                }
            }
        }
    }

    func text(_ v: [UInt8]?) -> String { v.map { "\"\(String(decoding: $0, as: UTF8.self))\"" } ?? "nothing" }
}
