import ChorusBase

/// Checks a simulated run against the cache's two promises, per key:
/// - single writer / multiple readers at every instant: if a node may write (E, M, or an
///   owner's write in flight) and read its copy, no other node may read one;
/// - reads are linearizable: a read returns the value of a write that began before the
///   read ended, and that no other write overwrote completely before the read began (the
///   initial value counts as a write that ended before time began);
/// - and, stronger, the history is linearizable in the order the durable layer gave the
///   writes (their versions; the home serialises a key, so that is the only order a
///   linearization can take): a write that ended before another began has the smaller
///   version; a read that ended before a write began returned an older version; a read
///   that began after another ended returned the same or a newer version.
/// Writes whose outcome the client never learned count as never ending.
struct CoherenceChecker {
    struct Write { var value: [UInt8]; var start: Instant; var end: Instant? }
    struct Read { var value: [UInt8]?; var start: Instant; var end: Instant; var node: Int }

    private(set) var violations: [String] = []
    private var writes: [CacheKey: [Write]] = [:]
    private var reads: [CacheKey: [Read]] = [:]
    private var versions: [CacheKey: [[UInt8]: UInt64]] = [:]
    static let reportLimit = 20

    mutating func note(_ text: String) {
        if violations.count < Self.reportLimit { violations.append(text) }
    }

    /// `copies` lists, for one key at `now`, every node that may read it and whether it may
    /// also write.
    mutating func checkSingleWriter(_ key: CacheKey, _ copies: [(node: Int, state: LineState)], at now: Instant) {
        guard copies.count > 1, let writer = copies.first(where: { $0.state.isWriter }) else { return }
        let others = copies.filter { $0.node != writer.node }.map { "n\($0.node) \($0.state)" }
        note("\(now) \(key): n\(writer.node) in \(writer.state) while \(others.joined(separator: ", ")) can read")
    }

    mutating func recordWrite(_ key: CacheKey, value: [UInt8], start: Instant, end: Instant?) {
        writes[key, default: []].append(Write(value: value, start: start, end: end))
    }

    mutating func recordRead(_ key: CacheKey, value: [UInt8]?, start: Instant, end: Instant, node: Int) {
        reads[key, default: []].append(Read(value: value, start: start, end: end, node: node))
    }

    /// The durable layer made `value` the key's value at `version`.
    mutating func recordVersion(_ key: CacheKey, value: [UInt8]?, version: UInt64) {
        if let value { versions[key, default: [:]][value] = version }
    }

    /// Real-time order against version order, for every pair that real time orders.
    mutating func checkOrder() {
        for key in reads.keys.sorted() {
            let known = versions[key] ?? [:]
            func version(_ v: [UInt8]?) -> UInt64? { v.map { known[$0] } ?? 0 }
            let ws = (writes[key] ?? []).compactMap { w in known[w.value].map { (w, $0) } }
            let rs = (reads[key] ?? []).compactMap { r in version(r.value).map { (r, $0) } }
            for (a, va) in ws {
                guard let end = a.end else { continue }
                if let (b, _) = ws.first(where: { $0.0.start > end && $0.1 < va }) {
                    note("\(key): \(text(b.value)) began after \(text(a.value)) ended but was ordered before it")
                }
            }
            for (r, vr) in rs {
                if let (w, _) = ws.first(where: { $0.0.start > r.end && $0.1 <= vr }) {
                    note("\(key): n\(r.node) read version \(vr) in [\(r.start), \(r.end)], not older than "
                         + "\(text(w.value)) which began after")
                }
                if let (r2, v2) = rs.first(where: { $0.0.start > r.end && $0.1 < vr }) {
                    note("\(key): n\(r2.node) read version \(v2) at [\(r2.start), \(r2.end)] after n\(r.node) "
                         + "had read version \(vr) in [\(r.start), \(r.end)]")
                }
            }
        }
    }

    mutating func checkReads() {
        for key in reads.keys.sorted() {
            let ws = writes[key] ?? []
            for r in reads[key] ?? [] {
                let writtenEnd: Instant?
                if let v = r.value {
                    guard let w = ws.first(where: { $0.value == v }) else {
                        note("\(key): n\(r.node) read \(text(v)), which nobody wrote"); continue
                    }
                    if w.start >= r.end { note("\(key): n\(r.node) read \(text(v)) before it was written"); continue }
                    writtenEnd = w.end
                } else {
                    writtenEnd = Instant(nanoseconds: Int64.min)
                }
                guard let after = writtenEnd else { continue }
                if let newer = ws.first(where: { w in
                    guard let end = w.end else { return false }
                    return w.start > after && end < r.start
                }) {
                    note("\(key): n\(r.node) read \(r.value.map(text) ?? "nothing") in [\(r.start), \(r.end)] "
                         + "after \(text(newer.value)) was written in [\(newer.start), \(newer.end!)]")
                }
            }
        }
    }

    private func text(_ v: [UInt8]) -> String { String(decoding: v, as: UTF8.self) }
}
