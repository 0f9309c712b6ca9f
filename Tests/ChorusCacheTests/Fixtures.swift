import ChorusBase
@testable import ChorusCache

let home = CacheNodeID(0)
let n1 = CacheNodeID(1)
let n2 = CacheNodeID(2)
let n3 = CacheNodeID(3)
let key = CacheKey("k")

func ms(_ n: Int64) -> Instant { Instant.zero + .milliseconds(n) }

func testSettings() -> CacheSettings {
    var s = CacheSettings()
    s.lease = .milliseconds(100)
    s.retransmitAfter = .milliseconds(10)
    s.maxClockDrift = 0
    return s
}


/// The messages among `effects`, with their targets.
func sent(_ effects: [CacheEffect]) -> [(CacheMessage, CacheNodeID)] {
    effects.compactMap { if case let .send(m, to) = $0 { return (m, to) } else { return nil } }
}
func sent(_ effects: [HomeEffect]) -> [(CacheMessage, CacheNodeID)] {
    effects.compactMap { if case let .send(m, to) = $0 { return (m, to) } else { return nil } }
}
func completions(_ effects: [CacheEffect]) -> [(ClientOpID, CacheOutcome)] {
    effects.compactMap { if case let .complete(op, outcome) = $0 { return (op, outcome) } else { return nil } }
}

/// The tag of the request the controller just sent.
func requestTag(_ effects: [CacheEffect]) -> RequestTag? {
    for (m, _) in sent(effects) {
        switch m {
        case let .getS(_, tag, _), let .getM(_, tag, _, _), let .upgrade(_, tag, _, _): return tag
        default: continue
        }
    }
    return nil
}

/// A controller driven one input at a time; each call returns that input's effects.
struct ControllerRig {
    var c: CacheController
    init(_ node: CacheNodeID = n1, settings: CacheSettings = testSettings()) {
        c = CacheController(node: node, incarnation: 1, settings: settings)
    }
    mutating func read(_ op: UInt64, at t: Instant, key k: CacheKey = key) -> [CacheEffect] {
        var e: [CacheEffect] = []
        c.read(k, op: ClientOpID(op), home: home, at: t, into: &e)
        return e
    }
    mutating func write(_ op: UInt64, _ value: String, at t: Instant, key k: CacheKey = key) -> [CacheEffect] {
        var e: [CacheEffect] = []
        c.write(k, value: Array(value.utf8), op: ClientOpID(op), home: home, at: t, into: &e)
        return e
    }
    mutating func receive(_ m: CacheMessage, from: CacheNodeID = home, at t: Instant) -> [CacheEffect] {
        var e: [CacheEffect] = []
        c.receive(m, from: from, at: t, into: &e)
        return e
    }
    mutating func tick(at t: Instant) -> [CacheEffect] {
        var e: [CacheEffect] = []
        c.tick(at: t, into: &e)
        return e
    }
}

/// A home driven one input at a time.
struct HomeRig {
    var h: HomeDirectory
    init(settings: CacheSettings = testSettings(), takeover: Bool = false, at t: Instant = .zero) {
        h = HomeDirectory(node: home, epoch: 1, settings: settings, takeover: takeover, at: t)
    }
    mutating func receive(_ m: CacheMessage, from: CacheNodeID, at t: Instant) -> [HomeEffect] {
        var e: [HomeEffect] = []
        h.receive(m, from: from, at: t, into: &e)
        return e
    }
    /// Sends a request and answers the load it causes (the key's durable value is `value`).
    mutating func request(_ m: CacheMessage, from: CacheNodeID, at t: Instant, value: [UInt8]? = nil) -> [HomeEffect] {
        var e = receive(m, from: from, at: t)
        if e.contains(.load(m.key)) {
            h.loaded(m.key, value: value, version: 0, at: t, into: &e)
        }
        return e
    }
    mutating func written(_ txn: TxnID, at t: Instant, key k: CacheKey = key) -> [HomeEffect] {
        var e: [HomeEffect] = []
        h.writeThroughDone(k, txn: txn, at: t, into: &e)
        return e
    }
    mutating func tick(at t: Instant) -> [HomeEffect] {
        var e: [HomeEffect] = []
        h.tick(at: t, into: &e)
        return e
    }
    mutating func dead(_ node: CacheNodeID, at t: Instant) -> [HomeEffect] {
        var e: [HomeEffect] = []
        h.memberDead(node, at: t, into: &e)
        return e
    }
}

func tag(_ sequence: UInt64, incarnation: UInt64 = 1) -> RequestTag {
    RequestTag(incarnation: incarnation, sequence: sequence)
}
func txn(_ counter: UInt64) -> TxnID { TxnID(epoch: 1, counter: counter) }
func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func readData(_ t: RequestTag, _ x: TxnID, _ grant: Grant, acks: UInt32 = 0, value: String?) -> CacheMessage {
    .data(key: key, tag: t, txn: x, grant: grant, ackCount: acks, version: 1, carriesValue: true,
          value: value.map(bytes))
}
func writeData(_ t: RequestTag, _ x: TxnID, acks: UInt32 = 0) -> CacheMessage {
    .data(key: key, tag: t, txn: x, grant: .modified, ackCount: acks, version: 2, carriesValue: false, value: nil)
}
