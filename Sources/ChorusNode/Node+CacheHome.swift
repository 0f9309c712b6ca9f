import ChorusBase
import ChorusCache
import ChorusRaft
import ChorusRing
import ChorusShards

// The cache's homes: the leader of a shard runs the `HomeDirectory` of the shard's keys for
// as long as it leads, with its term as the directory's epoch. The directory's durable layer
// is the shard itself: a load is a ReadIndex read of the shard's `ShardCacheValues`, a
// write-through is a `.cache(.write)` proposal answered once applied (committed on a quorum,
// after the fsyncs Raft's persistence order puts first). A new leader's directory knows no
// copies, so it serves nothing until every copy the old home could have granted has expired:
// the copies' lease bound, plus the longest the old leader may still believe it leads (two
// election timeouts: check-quorum steps it down by then) and the clock-drift allowance.
extension Node {

    /// The cache settings a new home runs with (its takeover quiet period widened by the old
    /// leader's tenure bound).
    var homeCacheSettings: CacheSettings {
        var s = settings.cache
        s.takeoverQuiet = max(s.quietAfterTakeover, s.homeLeaseBound + settings.takeoverGrace)
        s.plantedBug = settings.plantedBugs.cacheDataBeforeOneInvAck
        return s
    }

    /// Creates and discards directories as this node starts and stops leading shards.
    func followCacheLeadership(_ changes: [(shard: ShardID, leading: Bool)]) {
        for (shard, leading) in changes {
            if let old = cacheDuties.homes.removeValue(forKey: shard) {
                cacheDuties.retired.messagesSent &+= old.metrics.messagesSent
                cacheDuties.retired.invalidationsSent &+= old.metrics.invalidationsSent
            }
            cacheDuties.reloads.removeAll { $0.shard == shard }
            guard leading, let term = host.status(of: shard)?.term.value else { continue }
            cacheDuties.homes[shard] = HomeDirectory(node: cacheNode, epoch: term, settings: homeCacheSettings, takeover: true, at: time.now)
        }
        followCacheHomeMoves()
    }

    /// Carries out a directory's effects for `shard`.
    func carryHome(_ effects: [HomeEffect], shard: ShardID) {
        guard let epoch = cacheDuties.homes[shard]?.epoch else { return }
        for effect in effects {
            switch effect {
            case let .send(message, target):
                sendCache(sentByHome(message), to: target)
            case let .load(key):
                read(shard, for: .cacheLoad(shard: shard, key: key, epoch: epoch))
            case let .writeThrough(key, value, version, txn):
                let command: CacheShardCommand
                switch value.map(CacheMutation.decode) {
                case nil:
                    command = .write(key: key.bytes, value: nil, version: version, epoch: txn.epoch, counter: txn.counter)
                case let .set(payload, nil)??:
                    command = .write(key: key.bytes, value: payload, version: version, epoch: txn.epoch, counter: txn.counter)
                case let .set(payload, ttl?)??:
                    // The TTL becomes an absolute expiry by this home's wall clock, stored with
                    // the value: every replica, and any later home, agrees on it.
                    let (at, overflow) = time.wallMillis.addingReportingOverflow(ttl)
                    let expiresAt = overflow ? UInt64.max : at
                    command = .write(key: key.bytes, value: payload, version: version, epoch: txn.epoch, counter: txn.counter,
                                     expiresAtMillis: expiresAt)
                    cacheDuties.expectedResults[txn] = CacheRecord(payload, expiry: .at(wallMillis: expiresAt)).encoded()
                case let .increment(by)??:
                    command = .increment(key: key.bytes, by: by, nowMillis: time.wallMillis, version: version,
                                         epoch: txn.epoch, counter: txn.counter)
                case .some(nil):
                    // Not a mutation this node knows (a peer's garbage): refused, not written.
                    var effects: [HomeEffect] = []
                    cacheDuties.homes[shard]?.writeThroughRefused(key, txn: txn, at: time.now, into: &effects)
                    carryHome(effects, shard: shard)
                    continue
                }
                propose(shard, requestID: Array("cache/\(shard.value)/\(txn.epoch).\(txn.counter)".utf8), .cache(command),
                        for: .cacheWrite(shard: shard, key: key, txn: txn))
            }
        }
        deliverLoopback()
    }

    /// Proposes, on each shard this node leads with no purge in flight, the removal of up to
    /// `CacheShardCommand.maxPurgeKeys` records expired by this node's wall clock — the clock
    /// its directory judges expiries by, so the purge removes only what it already serves as
    /// absent. The command carries the time; every replica applies the same removals.
    func purgeExpiredRecords() {
        for shard in cacheDuties.homes.keys.sorted() where !cacheDuties.purging.contains(shard) {
            guard host.isLeader(of: shard), let machine = host.machine(of: shard),
                  let epoch = cacheDuties.homes[shard]?.epoch else { continue }
            let now = time.wallMillis
            let keys = machine.cache.expiredKeys(at: now, limit: CacheShardCommand.maxPurgeKeys)
            guard !keys.isEmpty else { continue }
            cacheDuties.purging.insert(shard)
            cacheDuties.purgesProposed &+= 1
            propose(shard, requestID: Array("cache-purge/\(shard.value)/\(epoch).\(cacheDuties.purgesProposed)".utf8),
                    .cache(.purge(nowMillis: now, keys: keys)), for: .cachePurge(shard: shard))
        }
    }

    /// A load's read settled: answer the directory of that epoch with the shard's value, or
    /// ask again at the next tick.
    func cacheLoadSettled(shard: ShardID, key: CacheKey, epoch: UInt64, readable: Bool) {
        guard cacheDuties.homes[shard]?.epoch == epoch else { return }
        guard readable, let machine = host.machine(of: shard) else {
            cacheDuties.reloads.append(CacheReload(shard: shard, key: key, epoch: epoch))
            return
        }
        let record = machine.cache.record(of: key.bytes)
        let value = record?.value.map { payload in
            CacheRecord(payload, expiry: record?.expiresAtMillis.map { .at(wallMillis: $0) } ?? .never).encoded()
        }
        var effects: [HomeEffect] = []
        cacheDuties.homes[shard]?.loaded(key, value: value, version: machine.cache.value(of: key.bytes).version, at: time.now,
                                         into: &effects)
        carryHome(effects, shard: shard)
    }

    /// A write-through settled. Applied: the directory sends the writer its data. Not applied
    /// (a newer transaction holds the key) or refused before it was proposed: the write did
    /// not take effect. Unknown (leadership moved): nothing — the directory goes with the
    /// leadership, and the writer hears `outcomeUnknown` from its controller.
    ///
    /// `reply` is the shard's answer (`ShardCacheValues.Reply`): applied as proposed (the
    /// directory's value is the request's, or the record this home fixed for a set with a
    /// TTL), applied with the value it made (an increment), refused (the increment does not
    /// apply to the value, which is unchanged), or ignored; `.some(nil)`: refused before it
    /// was proposed; `nil`: the outcome is unknown (leadership moved).
    func cacheWriteSettled(shard: ShardID, key: CacheKey, txn: TxnID, reply: [UInt8]??) {
        let expected = cacheDuties.expectedResults.removeValue(forKey: txn)
        guard cacheDuties.homes[shard]?.epoch == txn.epoch, let reply else { return }
        var effects: [HomeEffect] = []
        switch reply?.first {
        case ShardCacheValues.Reply.applied?:
            cacheDuties.homes[shard]?.writeThroughDone(key, txn: txn, result: expected.map { .some($0) }, at: time.now, into: &effects)
        case ShardCacheValues.Reply.appliedWithValue?:
            if let (value, expiresAt) = reply.flatMap(ShardCacheValues.resultingValue(of:)) {
                let record = value.map { CacheRecord($0, expiry: expiresAt.map { .at(wallMillis: $0) } ?? .never).encoded() }
                cacheDuties.homes[shard]?.writeThroughDone(key, txn: txn, result: .some(record), at: time.now, into: &effects)
            } else {
                cacheDuties.homes[shard]?.writeThroughFailed(key, txn: txn, at: time.now, into: &effects)
            }
        case ShardCacheValues.Reply.refused?:
            cacheDuties.homes[shard]?.writeThroughRefused(key, txn: txn, at: time.now, into: &effects)
        default:
            cacheDuties.homes[shard]?.writeThroughFailed(key, txn: txn, at: time.now, into: &effects)
        }
        carryHome(effects, shard: shard)
    }

    /// A message as this home sends it: the value of a `data` leaves with the time it has
    /// left by this node's wall clock, or as absent once expired, so that no reader needs to
    /// agree with this clock (it counts the time left down on its own monotonic clock).
    func sentByHome(_ message: CacheMessage) -> CacheMessage {
        guard case let .data(key, tag, txn, grant, ackCount, version, true, value?) = message,
              CacheRecord.expiresAtWallClock(value), let record = CacheRecord.decode(value) else { return message }
        return .data(key: key, tag: tag, txn: txn, grant: grant, ackCount: ackCount, version: version, carriesValue: true,
                     value: record.sent(atWall: time.wallMillis)?.encoded())
    }
}
