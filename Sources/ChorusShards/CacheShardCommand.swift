import ChorusWire

/// The cache service's command as one shard applies it: a home's write-through of one key,
/// or the leader's purge of expired records. The home is the shard's leader; `epoch` is its
/// term and `counter` its transaction within the term, so the pair names one home
/// transaction (`ChorusCache.TxnID`).
///
/// ```
/// command = 1 write     · key · value? · version · epoch · counter
///         | 2 write     · key · value? · version · epoch · counter · expiresAt varint
///         | 3 increment · key · by zigzag · nowMillis · version · epoch · counter
///         | 4 purge     · nowMillis · count varint (≤ maxPurgeKeys) · key*
/// ```
/// Tag 1 is the form logs written before expiries hold; it still decodes (no expiry).
///
/// Invariant: `decode(encode(c)) == c`; `decode` of anything else throws a `WireError`.
public enum CacheShardCommand: Hashable, Sendable {
    /// Makes `value` (nil: deleted) the key's durable value at `version`, expiring when the
    /// wall clock of the key's home reaches `expiresAtMillis` (nil: never).
    case write(key: [UInt8], value: [UInt8]?, version: UInt64, epoch: UInt64, counter: UInt64,
               expiresAtMillis: UInt64? = nil)
    /// Adds `by` to the key's value read as a decimal integer (absent or expired at
    /// `nowMillis`, the proposing home's wall clock: 0), keeping its expiry. Refused, with the
    /// value unchanged, when the value is not an integer or the sum leaves Int64.
    case increment(key: [UInt8], by: Int64, nowMillis: UInt64, version: UInt64, epoch: UInt64, counter: UInt64)
    /// Removes each listed key whose record expires at or before `nowMillis` (the proposing
    /// leader's wall clock, carried so that every replica removes the same records); a listed
    /// key rewritten since the leader chose it, or never expiring, stays.
    case purge(nowMillis: UInt64, keys: [[UInt8]])

    /// Longest cache key and value the shard keeps (the cache codec's limits are larger; the
    /// node refuses anything beyond these before it reaches the home).
    public static let maxKeyBytes = 4096
    public static let maxValueBytes = 1 << 20
    /// Most keys one purge lists: the bound on one apply's work (about 1,000 dictionary
    /// removals, well under a millisecond) and on the entry's size (≤ 4 MiB of keys at the
    /// longest key, 1,000 × 4 KiB).
    public static let maxPurgeKeys = 1_000

    func encode(into w: inout ByteWriter) {
        switch self {
        case let .write(key, value, version, epoch, counter, expiresAt):
            w.u8(expiresAt == nil ? 1 : 2); w.blob(key)
            if let value { w.u8(1); w.blob(value) } else { w.u8(0) }
            w.varint(version); w.varint(epoch); w.varint(counter)
            if let expiresAt { w.varint(expiresAt) }
        case let .increment(key, by, now, version, epoch, counter):
            w.u8(3); w.blob(key); w.varint(UInt64(bitPattern: (by << 1) ^ (by >> 63)))
            w.varint(now); w.varint(version); w.varint(epoch); w.varint(counter)
        case let .purge(now, keys):
            w.u8(4); w.varint(now); w.varint(UInt64(keys.count))
            for key in keys { w.blob(key) }
        }
    }

    static func decode(_ r: inout ByteReader) throws(WireError) -> CacheShardCommand {
        let tag = try r.u8()
        switch tag {
        case 1, 2:
            let key = try r.blob("cache key", limit: maxKeyBytes)
            let value = try decodeValue(&r)
            let version = try r.varint(), epoch = try r.varint(), counter = try r.varint()
            let expiresAt: UInt64? = tag == 2 ? try r.varint() : nil
            return .write(key: key, value: value, version: version, epoch: epoch, counter: counter, expiresAtMillis: expiresAt)
        case 3:
            let key = try r.blob("cache key", limit: maxKeyBytes)
            let z = try r.varint()
            let by = Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1)
            let now = try r.varint(), version = try r.varint(), epoch = try r.varint()
            return .increment(key: key, by: by, nowMillis: now, version: version, epoch: epoch, counter: try r.varint())
        case 4:
            let now = try r.varint()
            let count = try r.count("purged keys", limit: maxPurgeKeys)
            var keys: [[UInt8]] = []
            keys.reserveCapacity(count)
            for _ in 0..<count { keys.append(try r.blob("cache key", limit: maxKeyBytes)) }
            return .purge(nowMillis: now, keys: keys)
        default:
            throw .invalid(field: "cache shard command", reason: "tag \(tag)")
        }
    }

    static func decodeValue(_ r: inout ByteReader) throws(WireError) -> [UInt8]? {
        switch try r.u8() {
        case 0: return nil
        case 1: return try r.blob("cache value", limit: maxValueBytes)
        case let flag: throw .invalid(field: "cache value flag", reason: "\(flag)")
        }
    }
}
