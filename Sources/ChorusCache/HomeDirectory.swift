import ChorusBase

/// The directory controller of the keys a node homes (it leads their shards): per key the
/// state, the owner or sharers with their lease bounds, the value as last written through,
/// the transaction in flight and the requests queued behind it. A sans-I/O state machine.
///
/// Inputs: `receive` (a message for the home), `loaded` and `writeThroughDone`/
/// `writeThroughFailed` (answers of the durable layer to its effects), `memberDead`, and
/// `tick` (retransmission, lease-bound acks, queued work after the takeover quiet period;
/// at least every `retransmitAfter / 2`).
///
/// Invariants:
/// - Per key at most one transaction; it holds the key until the requester's `unblock`
///   (or its death), so requests for a key are served one at a time, in arrival order.
/// - A write is written through before its `data` leaves, and its `data` leaves only once
///   the entry's fence has passed; the requester ends the write only when every revoked
///   holder has acked, or the home has acked for it after that holder's lease bound.
/// - A new home (`takeover: true`) serves nothing until `quietAfterTakeover` has passed,
///   so every copy the old home granted has stopped being read first.
/// - Transactions are numbered (epoch, counter) with a counter that only grows.
public struct HomeDirectory {
    public let node: CacheNodeID
    public let epoch: UInt64
    public let settings: CacheSettings
    /// Before this instant every request waits (the old home's copies may still be read).
    public let servingFrom: Instant
    public internal(set) var metrics = CacheMetrics()

    var entries: [CacheKey: DirectoryEntry] = [:]
    var requesters: [CacheNodeID: RequesterRecord] = [:]
    /// Keys with a transaction, a queue or a fence: what `tick` visits (in key order).
    var attention: Set<CacheKey> = []
    var counter: UInt64 = 0

    /// A home for keys of shards this node now leads. `epoch` must exceed every epoch any
    /// earlier home of these keys used (the shard's Raft term does). `takeover` is false only
    /// for the first home of keys that nobody can hold yet (a new cluster).
    public init(node: CacheNodeID, epoch: UInt64, settings: CacheSettings, takeover: Bool, at now: Instant) {
        precondition((try? settings.validate()) != nil, "CacheSettings must validate")
        self.node = node
        self.epoch = epoch
        self.settings = settings
        self.servingFrom = takeover ? now + settings.quietAfterTakeover : now
    }

    // MARK: inputs

    public mutating func receive(_ message: CacheMessage, from sender: CacheNodeID, at now: Instant,
                                 into effects: inout [HomeEffect]) {
        let key = message.key
        switch message {
        case let .getS(_, tag, floor):
            request(key, QueuedRequest(from: sender, tag: tag, write: false, value: nil), floor: floor,
                    at: now, into: &effects)
        case let .getM(_, tag, floor, value), let .upgrade(_, tag, floor, value):
            request(key, QueuedRequest(from: sender, tag: tag, write: true, value: value), floor: floor,
                    at: now, into: &effects)
        case let .putS(_, grant), let .putE(_, grant), let .putM(_, grant, _):
            step(key, .put(sender, grant), at: now, into: &effects)
        case let .unblock(_, txn):
            step(key, .unblock(sender, txn), at: now, into: &effects)
        case .fwdGetS, .fwdGetM, .inv, .invAck, .data, .putAck, .nack:
            return
        }
    }

    /// The durable layer's answer to `.load(key)`.
    public mutating func loaded(_ key: CacheKey, value: [UInt8]?, version: UInt64, at now: Instant,
                                into effects: inout [HomeEffect]) {
        step(key, .loaded(value, version), at: now, into: &effects)
    }

    /// The durable layer committed `txn`'s write. `result` is the value it made of the write
    /// when that differs from the request's (an increment's result, a set's fixed expiry):
    /// the entry holds it and the writer's data carries it. `.none`: the request's value.
    public mutating func writeThroughDone(_ key: CacheKey, txn: TxnID, result: [UInt8]?? = .none, at now: Instant,
                                          into effects: inout [HomeEffect]) {
        step(key, .writeDone(txn, result: result), at: now, into: &effects)
    }

    /// The durable layer applied `txn` as a refusal: the mutation does not apply to the
    /// key's durable value (an increment of a value that is not an integer), which is
    /// unchanged. The writer hears `.failed(.refused)`.
    public mutating func writeThroughRefused(_ key: CacheKey, txn: TxnID, at now: Instant,
                                             into effects: inout [HomeEffect]) {
        step(key, .writeRefused(txn), at: now, into: &effects)
    }

    /// The durable layer refused `txn`'s write (this node no longer leads the shard). The
    /// requester is not answered: it retransmits, or learns of the new home.
    public mutating func writeThroughFailed(_ key: CacheKey, txn: TxnID, at now: Instant,
                                            into effects: inout [HomeEffect]) {
        step(key, .writeFailed(txn), at: now, into: &effects)
    }

    /// Membership declared `dead` dead: its copies stop being counted (their lease bounds
    /// join each entry's fence), its queued requests go, a transaction it asked for ends.
    public mutating func memberDead(_ dead: CacheNodeID, at now: Instant, into effects: inout [HomeEffect]) {
        for key in entries.keys.sorted() {
            step(key, .memberDead(dead), at: now, into: &effects)
        }
    }

    /// True while some key's transaction counts time (a lease to wait out, data to resend):
    /// the driver must keep ticking.
    public var needsTicks: Bool { !attention.isEmpty }

    public mutating func tick(at now: Instant, into effects: inout [HomeEffect]) {
        for key in attention.sorted() {
            step(key, .tick, at: now, into: &effects)
        }
    }

    // MARK: views

    public func state(of key: CacheKey) -> HomeState { entries[key]?.state ?? .I }
    public var entryCount: Int { entries.count }
    /// A one-line account of the key's entry (state, holders, transaction), for a failing
    /// run's report.
    public func describe(_ key: CacheKey) -> String {
        guard let e = entries[key] else { return "\(key)=I" }
        let txn = e.txn.map { t in
            "txn \(t.id) for \(t.request.from) \(t.request.tag) \(t.grant) targets \(t.targets.map { "\($0.holder.node)" }) "
                + "written \(t.writeDone) data sent \(t.dataSentAt.map { "\($0)" } ?? "no")"
        } ?? "no txn"
        return "\(key)=\(e.state) holders \(holders(of: key)) \(txn) queue \(e.queue.count) fence \(e.fenceUntil)"
    }
    /// Nodes the directory counts as holding `key` (owner or sharers), sorted.
    public func holders(of key: CacheKey) -> [CacheNodeID] {
        guard let e = entries[key] else { return [] }
        return (e.owner.map { [$0.node] } ?? []) + e.sharers.map(\.node)
    }

    // MARK: plumbing shared by the table

    mutating func request(_ key: CacheKey, _ request: QueuedRequest, floor: UInt64, at now: Instant,
                          into effects: inout [HomeEffect]) {
        var record = requesters[request.from] ?? RequesterRecord(incarnation: request.tag.incarnation, floor: floor)
        let verdict = record.classify(request.tag, floor: floor)
        requesters[request.from] = record
        switch verdict {
        case .stale: return
        case .finished: return send(.nack(key: key, tag: request.tag), to: request.from, into: &effects)
        case .live: step(key, .request(request), at: now, into: &effects)
        }
    }

    mutating func send(_ message: CacheMessage, to target: CacheNodeID, into effects: inout [HomeEffect]) {
        metrics.messagesSent &+= 1
        switch message {
        case .inv, .fwdGetS, .fwdGetM: metrics.invalidationsSent &+= 1
        default: break
        }
        effects.append(.send(message, to: target))
    }

    mutating func nextTxn() -> TxnID {
        counter &+= 1
        return TxnID(epoch: epoch, counter: counter)
    }
}
