import ChorusWire

/// What a write asks of a key, as the node layer encodes it in the value of a `getM` or
/// `upgrade` (a delete is a nil value). The cores carry it opaquely to the home, whose driver
/// turns it into the shard command that makes it durable: a set (its TTL made an absolute
/// expiry by the home's wall clock) or an increment, read-modify-written by the shard's state
/// machine.
///
/// ```
/// mutation = 0 · payload                      set, no expiry (the bytes of its CacheRecord)
///          | 3 · ttlMillis varint · payload   set, expiring ttlMillis after the home takes it
///          | 4 · by zigzag varint             increment by `by` (Redis INCRBY)
/// ```
///
/// Invariant: `decode(encoded()) == self`; `decode` is total (nil for anything else).
public enum CacheMutation: Hashable, Sendable {
    case set([UInt8], ttlMillis: UInt64?)
    case increment(by: Int64)

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        switch self {
        case let .set(payload, nil): w.u8(0); w.raw(payload)
        case let .set(payload, ttl?): w.u8(3); w.varint(ttl); w.raw(payload)
        case let .increment(by): w.u8(4); w.varint(UInt64(bitPattern: (by << 1) ^ (by >> 63)))
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> CacheMutation? {
        var r = ByteReader(bytes)
        do {
            switch try r.u8() {
            case 0: return .set(Array(bytes.dropFirst()), ttlMillis: nil)
            case 3:
                let ttl = try r.varint()
                return .set(Array(bytes[(bytes.count - r.remaining)...]), ttlMillis: ttl)
            case 4:
                let z = try r.varint()
                guard r.remaining == 0 else { return nil }
                return .increment(by: Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1))
            default: return nil
            }
        } catch {
            return nil
        }
    }
}
