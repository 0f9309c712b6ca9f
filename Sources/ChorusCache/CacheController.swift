import ChorusBase

/// One node's cache controller: its local copies (a byte-bounded LRU) and the requests it
/// has in flight to the keys' homes. A sans-I/O state machine: every input takes `now`
/// and appends effects; nothing here reads a clock, sends, or draws a random number.
///
/// Inputs: `read`/`write` (client operations, with the key's current home), `receive` (a
/// coherence message), `tick` (retransmission and lease expiry, at least every
/// `retransmitAfter / 2`), `homeChanged` (the node layer moved homes).
///
/// Invariants:
/// - A key is in at most one of `copies` (stable S/E/M) and `pending` (transient states).
/// - A copy is read only while `now` is before its lease end, which is the first send of
///   the request it answers plus `settings.lease`; the home waits `homeLeaseBound` after
///   its own later grant before it gives an unanswered copy up, so a copy is never read
///   after the home stopped counting it.
/// - At most one request per key is in flight; operations on a busy key park in order.
/// - Tags increase: `nextSequence` only grows, and a restart takes a new incarnation.
public struct CacheController {
    public let node: CacheNodeID
    public let incarnation: UInt64
    public let settings: CacheSettings
    public internal(set) var metrics = CacheMetrics()

    var copies: LocalCache<CacheCopy>
    var pending: [CacheKey: PendingLine] = [:]
    var parked: [CacheKey: [ParkedOp]] = [:]
    var nextSequence: UInt64 = 1
    /// Sequences of requests in flight, ascending; its first is the floor sent to homes.
    var openSequences: [UInt64] = []
    /// The last transaction completed per key (for re-sending a lost unblock), bounded by
    /// `completedOrder` in completion order.
    var recentlyCompleted: [CacheKey: TxnID] = [:]
    var completedOrder: [CacheKey] = []
    static let completedMemory = 4_096
    /// Keys whose readable copy may have changed since `takeTouchedKeys()`: every line
    /// step, every copy a home move dropped and every copy whose lease ran out is noted, so a
    /// mirror of the copies (an embedding's `LocalCopies`) never keeps what the line lost.
    var touched: [CacheKey] = []

    /// A controller starts empty; a restarted node passes a larger `incarnation`.
    public init(node: CacheNodeID, incarnation: UInt64, settings: CacheSettings) {
        precondition((try? settings.validate()) != nil, "CacheSettings must validate")
        self.node = node
        self.incarnation = incarnation
        self.settings = settings
        self.copies = LocalCache(capacity: settings.maxBytes)
    }

    // MARK: inputs

    /// A client read of `key`, whose home is `home`.
    public mutating func read(_ key: CacheKey, op: ClientOpID, home: CacheNodeID, at now: Instant,
                              into effects: inout [CacheEffect]) {
        guard key.bytes.count <= CacheCodec.maxKeyBytes else {
            return finish(op, .failed(.tooLarge), into: &effects)
        }
        step(key, .read(op, home: home), at: now, into: &effects)
    }

    /// A client write of `value` to `key` (`nil` deletes it), whose home is `home`.
    public mutating func write(_ key: CacheKey, value: [UInt8]?, op: ClientOpID, home: CacheNodeID,
                               at now: Instant, into effects: inout [CacheEffect]) {
        guard key.bytes.count <= CacheCodec.maxKeyBytes, (value?.count ?? 0) <= CacheCodec.maxValueBytes else {
            return finish(op, .failed(.tooLarge), into: &effects)
        }
        step(key, .write(op, value, home: home), at: now, into: &effects)
    }

    /// A coherence message from `sender`. Messages meant for a home are ignored here.
    public mutating func receive(_ message: CacheMessage, from sender: CacheNodeID, at now: Instant,
                                 into effects: inout [CacheEffect]) {
        let key = message.key
        switch message {
        case .getS, .getM, .upgrade, .putS, .putE, .putM, .unblock:
            return
        case let .inv(_, txn, requester, tag):
            metrics.invalidationsReceived &+= 1
            step(key, .revoke(.inv, txn, requester: requester, tag), at: now, into: &effects)
        case let .fwdGetS(_, txn, requester, tag):
            metrics.invalidationsReceived &+= 1
            step(key, .revoke(.fwdGetS, txn, requester: requester, tag), at: now, into: &effects)
        case let .fwdGetM(_, txn, requester, tag):
            metrics.invalidationsReceived &+= 1
            step(key, .revoke(.fwdGetM, txn, requester: requester, tag), at: now, into: &effects)
        case let .invAck(_, tag, acker):
            step(key, .invAck(tag, acker), at: now, into: &effects)
        case let .data(_, tag, txn, grant, ackCount, version, carriesValue, value):
            let arrival = DataArrival(txn: txn, grant: grant, ackCount: ackCount, version: version,
                                      carriesValue: carriesValue, value: value)
            guard homeOf(key) ?? sender == sender else {
                // Not from the home this node now uses for the key: never installed.
                return answerStale(key, arrival, from: sender, into: &effects)
            }
            step(key, .data(arrival, tag, from: sender), at: now, into: &effects)
        case let .putAck(_, grant):
            guard homeOf(key) ?? sender == sender else { return }
            step(key, .putAck(grant), at: now, into: &effects)
        case let .nack(_, tag):
            guard homeOf(key) ?? sender == sender else { return }
            step(key, .nack(tag), at: now, into: &effects)
        }
    }

    /// Retransmits requests and puts unanswered for `retransmitAfter`, and drops copies
    /// whose lease ended (silently: the home's own lease bound covers them).
    /// True while a request to a home waits for its answer (the tick retransmits it): the
    /// driver must keep ticking. Copies running out need no prompt tick — a read checks
    /// the expiry itself, and a tick only reclaims their memory.
    public var awaitsHomes: Bool { !pending.isEmpty }

    public mutating func tick(at now: Instant, into effects: inout [CacheEffect]) {
        var departed: [(CacheKey, CacheCopy, LocalCache<CacheCopy>.Departure)] = []
        copies.removeExpired(at: now, departed: &departed)
        absorb(departed, at: now, into: &effects)
        for key in pending.keys.sorted() {
            guard var line = pending[key], now >= line.lastSent + settings.retransmitAfter else { continue }
            let message: CacheMessage?
            if let put = line.putMessage { message = put } else { message = requestMessage(key, line) }
            guard let message else { continue }
            line.lastSent = now
            pending[key] = line
            metrics.retransmissions &+= 1
            send(message, to: line.home, into: &effects)
        }
        metrics.bytes = copies.bytes
    }

    /// The node layer moved some keys away from `oldHome`: `resolve` gives each affected
    /// key's new home (nil if it has none yet; the key is then dropped and its operations
    /// fail or wait for the next call). Copies granted by the old home are dropped at once;
    /// reads in flight ask the new home; writes in flight end `outcomeUnknown`, since the
    /// old home may have written them through.
    public mutating func homeChanged(from oldHome: CacheNodeID, resolve: (CacheKey) -> CacheNodeID?,
                                     at now: Instant, into effects: inout [CacheEffect]) {
        let held = copies.entries.filter { $0.1.home == oldHome }.map(\.0)
        for key in held { copies.remove(key) }
        touched.append(contentsOf: held)
        // Parked operations take the new home first, so that the lines below drain to it.
        for key in parked.keys.sorted() {
            guard let ops = parked[key] else { continue }
            let newHome = resolve(key)
            parked[key] = ops.map { op in
                switch op {
                case let .read(id, home): return .read(id, home: home == oldHome ? newHome ?? home : home)
                case let .write(id, v, home): return .write(id, v, home: home == oldHome ? newHome ?? home : home)
                }
            }
        }
        for key in pending.keys.sorted() where pending[key]?.home == oldHome {
            step(key, .homeLost(resolve(key)), at: now, into: &effects)
        }
        metrics.bytes = copies.bytes
    }

    // MARK: views

    /// The key's state as the protocol sees it at `now` (an expired copy is I).
    public func state(of key: CacheKey, at now: Instant) -> LineState {
        if let line = pending[key] { return line.state }
        if let copy = copies.peek(key), let end = copies.expiry(of: key), now < end { return copy.state }
        return .I
    }

    /// Reads a driver answered from its mirror of this controller's readable copies
    /// (`LocalCopy`): `count` hits, of which `keys` (possibly fewer, or repeated) refresh
    /// their lines' recency, as if each had been a `read` that hit.
    public mutating func servedLocally(_ keys: [CacheKey], count: UInt64) {
        metrics.hits &+= count
        for key in keys { copies.touch(key) }
    }

    /// Whether the node may answer a read of `key` locally at `now`, and with what value.
    public func readableValue(of key: CacheKey, at now: Instant) -> [UInt8]?? {
        guard let copy = localCopy(of: key), now < copy.readableUntil else { return nil }
        return .some(copy.value)
    }

    /// The value a read of `key` may be answered with locally, and until when — whatever
    /// the instant; nil when the line holds nothing readable (`LocalCopy`).
    public func localCopy(of key: CacheKey) -> LocalCopy? {
        if let line = pending[key] {
            guard line.state.readsLocally, let copy = line.retained else { return nil }
            return LocalCopy(value: copy.value, readableUntil: line.retainedLeaseEnd)
        }
        guard let copy = copies.peek(key), let end = copies.expiry(of: key) else { return nil }
        return LocalCopy(value: copy.value, readableUntil: end)
    }

    /// The keys whose `localCopy` may have changed since the last call, each once, in the
    /// order first touched; the list starts again empty.
    public mutating func takeTouchedKeys() -> [CacheKey] {
        guard !touched.isEmpty else { return [] }
        var seen = Set<CacheKey>()
        let keys = touched.filter { seen.insert($0).inserted }
        touched.removeAll(keepingCapacity: true)
        return keys
    }

    /// A one-line account of the key's line (state, home, request, data and acks), for a
    /// failing run's report.
    public func describe(_ key: CacheKey, at now: Instant) -> String {
        guard let line = pending[key] else { return "\(key)=\(state(of: key, at: now))" }
        let data = line.data.map { "data \($0.txn) \($0.grant) needs \($0.ackCount)" } ?? "no data"
        return "\(key)=\(line.state) home \(line.home) \(line.tag.map { "\($0)" } ?? "-") \(data) acks \(line.ackers)"
    }

    /// Keys with a copy or a request in flight, sorted.
    public var keys: [CacheKey] {
        (copies.entries.map(\.0) + pending.keys.filter { copies.peek($0) == nil }).sorted()
    }

    // MARK: plumbing shared by the table

    func homeOf(_ key: CacheKey) -> CacheNodeID? {
        if let line = pending[key] { return line.home }
        return copies.peek(key)?.home
    }

    var floor: UInt64 { openSequences.first ?? nextSequence }

    func requestMessage(_ key: CacheKey, _ line: PendingLine) -> CacheMessage? {
        guard let tag = line.tag else { return nil }
        switch line.kind {
        case .read: return .getS(key: key, tag: tag, floor: floor)
        case .write(upgrade: true): return .upgrade(key: key, tag: tag, floor: floor, value: line.writeValue)
        case .write(upgrade: false): return .getM(key: key, tag: tag, floor: floor, value: line.writeValue)
        }
    }

    mutating func newTag() -> RequestTag {
        let tag = RequestTag(incarnation: incarnation, sequence: nextSequence)
        openSequences.append(nextSequence)
        nextSequence &+= 1
        return tag
    }

    mutating func closeTag(_ tag: RequestTag?) {
        guard let tag, let i = openSequences.firstIndex(of: tag.sequence) else { return }
        openSequences.remove(at: i)
    }

    mutating func rememberCompleted(_ key: CacheKey, _ txn: TxnID) {
        if recentlyCompleted.updateValue(txn, forKey: key) == nil { completedOrder.append(key) }
        if completedOrder.count > Self.completedMemory {
            let dropped = completedOrder.count - Self.completedMemory / 2
            for old in completedOrder.prefix(dropped) { recentlyCompleted[old] = nil }
            completedOrder.removeFirst(dropped)
        }
    }

    mutating func send(_ message: CacheMessage, to target: CacheNodeID, into effects: inout [CacheEffect]) {
        metrics.messagesSent &+= 1
        effects.append(.send(message, to: target))
    }

    mutating func finish(_ op: ClientOpID, _ outcome: CacheOutcome, into effects: inout [CacheEffect]) {
        metrics.operations &+= 1
        effects.append(.complete(op, outcome))
    }

    /// Installs a stable copy expiring at `leaseEnd`; copies evicted to make room send puts.
    mutating func install(_ key: CacheKey, _ copy: CacheCopy, leaseEnd: Instant, at now: Instant,
                          into effects: inout [CacheEffect]) {
        guard now < leaseEnd else { return }
        var departed: [(CacheKey, CacheCopy, LocalCache<CacheCopy>.Departure)] = []
        copies.put(key, copy, cost: copy.cost, expires: leaseEnd, departed: &departed)
        absorb(departed, at: now, into: &effects)
        metrics.bytes = copies.bytes
    }

    mutating func absorb(_ departed: [(CacheKey, CacheCopy, LocalCache<CacheCopy>.Departure)], at now: Instant,
                         into effects: inout [CacheEffect]) {
        for (key, copy, why) in departed {
            switch why {
            case .expired:
                metrics.expirations &+= 1
                touched.append(key)
            case .evicted:
                metrics.evictions &+= 1
                step(key, .evict(copy), at: now, into: &effects)
            }
        }
    }

    /// Runs parked operations of `key` while its line is stable.
    mutating func drain(_ key: CacheKey, at now: Instant, into effects: inout [CacheEffect]) {
        while pending[key] == nil, var ops = parked[key], !ops.isEmpty {
            let op = ops.removeFirst()
            parked[key] = ops.isEmpty ? nil : ops
            switch op {
            case let .read(id, home): step(key, .read(id, home: home), at: now, into: &effects)
            case let .write(id, value, home): step(key, .write(id, value, home: home), at: now, into: &effects)
            }
        }
    }
}
