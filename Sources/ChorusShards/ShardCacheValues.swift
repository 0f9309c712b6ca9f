import ChorusWire

/// The durable side of the cache on one shard: per key the value last written through by a
/// home, its version, the home transaction that wrote it, and when it expires (wall-clock
/// milliseconds of the key's home; nil: never). A delete keeps its record (value nil) so that
/// versions of a key only grow across homes. An expired record reads as absent to whoever
/// compares its expiry with a clock (the home with its wall clock, an increment with the time
/// its home stamped into the command), and is removed by the shard leader's next `purge`.
///
/// Invariants: a write or increment is applied only if its transaction (epoch, counter) is
/// newer than the record's, so a retried proposal of one transaction applies once and a late
/// proposal of a deposed home never overwrites a newer home's write; `apply` is deterministic
/// (it reads no clock: a purge carries its time); `encode` writes keys in sorted order;
/// `expiring` counts the records with an expiry; `versionFloor` is at least the version of
/// every purged record, and an absent key reads at that version, so versions still only grow.
///
/// Why a purge cannot bring an old value back: it removes only a record that has expired by
/// the time it carries, so what readers see (absent) does not change; and a write applied
/// after it that the record would have ignored — an older transaction of the same key —
/// cannot exist: cache writes enter the log only from the home leading the shard, their
/// epoch is that leader's term (log terms never decrease), and within an epoch the home
/// runs one transaction per key at a time, proposing each once.
public struct ShardCacheValues: Equatable, Sendable {
    public struct Record: Equatable, Sendable {
        public var value: [UInt8]?
        public var version: UInt64
        public var epoch: UInt64
        public var counter: UInt64
        public var expiresAtMillis: UInt64? = nil
    }

    /// Reply bytes of `apply` (2 is `ShardState.Reply.unreadable`, the answer to a command
    /// that does not decode).
    public enum Reply {
        /// Applied as proposed.
        public static let applied: UInt8 = 0
        /// Not newer than the record: changed nothing.
        public static let ignored: UInt8 = 1
        /// Applied; followed by the value the key now holds (`present u8 · value blob ·
        /// expires u8 · [expiresAt varint]`): an increment's result.
        public static let appliedWithValue: UInt8 = 3
        /// An increment of a value that is not an integer, or that would leave Int64: the
        /// record is unchanged.
        public static let refused: UInt8 = 4
    }

    public private(set) var records: [[UInt8]: Record] = [:]
    /// The largest version of a purged record (0: none purged): an absent key's version.
    public private(set) var versionFloor: UInt64 = 0
    /// How many records carry an expiry: a shard without any skips the purge scan.
    public private(set) var expiring = 0

    public init() {}

    /// The key's durable value and version (nil and `versionFloor` when absent).
    public func value(of key: [UInt8]) -> (value: [UInt8]?, version: UInt64) {
        guard let r = records[key] else { return (nil, versionFloor) }
        return (r.value, r.version)
    }

    /// Up to `limit` keys whose records have expired at `nowMillis`, smallest first (the same
    /// keys on every replica of the same state, whatever the dictionary's order): what the
    /// leader's next purge lists. Visits every record when any carries an expiry.
    public func expiredKeys(at nowMillis: UInt64, limit: Int) -> [[UInt8]] {
        guard expiring > 0, limit > 0 else { return [] }
        var keys: [[UInt8]] = []
        for (key, r) in records {
            if let e = r.expiresAtMillis, e <= nowMillis { keys.append(key) }
        }
        keys.sort { $0.lexicographicallyPrecedes($1) }
        return keys.count > limit ? Array(keys.prefix(limit)) : keys
    }

    /// Stores `record` under `key` (nil: removes it), keeping `expiring`.
    private mutating func put(_ key: [UInt8], _ record: Record?) {
        let old: Record?
        if let record { old = records.updateValue(record, forKey: key) } else { old = records.removeValue(forKey: key) }
        if old?.expiresAtMillis != nil { expiring -= 1 }
        if record?.expiresAtMillis != nil { expiring += 1 }
    }

    /// The key's record, if it was ever written.
    public func record(of key: [UInt8]) -> Record? { records[key] }

    mutating func apply(_ command: CacheShardCommand) -> [UInt8] {
        switch command {
        case let .write(key, value, version, epoch, counter, expiresAt):
            if let r = records[key], (r.epoch, r.counter) >= (epoch, counter) { return [Reply.ignored] }
            put(key, Record(value: value, version: version, epoch: epoch, counter: counter,
                            expiresAtMillis: value == nil ? nil : expiresAt))
            return [Reply.applied]
        case let .increment(key, by, now, version, epoch, counter):
            let old = records[key]
            if let r = old, (r.epoch, r.counter) >= (epoch, counter) { return [Reply.ignored] }
            let live = old.flatMap { r in r.expiresAtMillis.map { $0 > now } ?? true ? r : nil }
            let current: Int64
            if let bytes = live?.value {
                guard let n = DecimalInteger.parse(bytes) else { return [Reply.refused] }
                current = n
            } else {
                current = 0
            }
            let (sum, overflow) = current.addingReportingOverflow(by)
            guard !overflow else { return [Reply.refused] }
            let value = DecimalInteger.text(sum)
            let expiresAt = live?.value == nil ? nil : live?.expiresAtMillis
            put(key, Record(value: value, version: version, epoch: epoch, counter: counter, expiresAtMillis: expiresAt))
            var w = ByteWriter(capacity: value.count + 16)
            w.u8(Reply.appliedWithValue); w.u8(1); w.blob(value)
            if let expiresAt { w.u8(1); w.varint(expiresAt) } else { w.u8(0) }
            return w.bytes
        case let .purge(now, keys):
            var removed: UInt64 = 0
            for key in keys {
                guard let r = records[key], let e = r.expiresAtMillis, e <= now else { continue }
                versionFloor = max(versionFloor, r.version)
                put(key, nil)
                removed += 1
            }
            var w = ByteWriter(capacity: 8)
            w.u8(Reply.applied); w.varint(removed)
            return w.bytes
        }
    }

    /// Decodes an `appliedWithValue` reply: the value and its expiry (nil for any other reply).
    public static func resultingValue(of reply: [UInt8]) -> (value: [UInt8]?, expiresAtMillis: UInt64?)? {
        var r = ByteReader(reply)
        do {
            guard try r.u8() == Reply.appliedWithValue else { return nil }
            let value = try CacheShardCommand.decodeValue(&r)
            let expires: UInt64?
            switch try r.u8() {
            case 0: expires = nil
            case 1: expires = try r.varint()
            default: return nil
            }
            return (value, expires)
        } catch {
            return nil
        }
    }

    /// Image form; `withExpiry` from shard image version 4 on, the version floor after the
    /// records from version 5 on.
    func encode(into w: inout ByteWriter) {
        w.varint(UInt64(records.count))
        for key in records.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard let r = records[key] else { continue }
            w.blob(key)
            if let v = r.value { w.u8(1); w.blob(v) } else { w.u8(0) }
            w.varint(r.version); w.varint(r.epoch); w.varint(r.counter)
            if let e = r.expiresAtMillis { w.u8(1); w.varint(e) } else { w.u8(0) }
        }
        w.varint(versionFloor)
    }

    /// Reads the image form; `withExpiry` is false for images of version 3 (no expiries),
    /// `withFloor` for images before version 5 (nothing purged).
    init(decoding r: inout ByteReader, withExpiry: Bool, withFloor: Bool) throws(WireError) {
        let count = try r.count("cache records", limit: r.remaining / 5)
        for _ in 0..<count {
            let key = try r.blob("cache key", limit: CacheShardCommand.maxKeyBytes)
            let value = try CacheShardCommand.decodeValue(&r)
            let version = try r.varint(), epoch = try r.varint(), counter = try r.varint()
            var expiresAt: UInt64? = nil
            if withExpiry {
                switch try r.u8() {
                case 0: break
                case 1: expiresAt = try r.varint()
                case let flag: throw .invalid(field: "cache expiry flag", reason: "\(flag)")
                }
            }
            put(key, Record(value: value, version: version, epoch: epoch, counter: counter, expiresAtMillis: expiresAt))
        }
        if withFloor { versionFloor = try r.varint() }
    }
}
