import ChorusWire

/// The durable side of the cache on one shard: per key the value last written through by a
/// home, its version, the home transaction that wrote it, and when it expires (wall-clock
/// milliseconds of the key's home; nil: never). A delete keeps its record (value nil) so that
/// versions of a key only grow across homes. An expired record stays until it is overwritten:
/// whoever reads it compares its expiry with a clock (the home with its wall clock, an
/// increment with the time its home stamped into the command).
///
/// Invariants: a write or increment is applied only if its transaction (epoch, counter) is
/// newer than the record's, so a retried proposal of one transaction applies once and a late
/// proposal of a deposed home never overwrites a newer home's write; `apply` is deterministic
/// (it reads no clock); `encode` writes keys in sorted order.
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

    public init() {}

    /// The key's durable value and version (nil and 0 when never written).
    public func value(of key: [UInt8]) -> (value: [UInt8]?, version: UInt64) {
        guard let r = records[key] else { return (nil, 0) }
        return (r.value, r.version)
    }

    /// The key's record, if it was ever written.
    public func record(of key: [UInt8]) -> Record? { records[key] }

    mutating func apply(_ command: CacheShardCommand) -> [UInt8] {
        switch command {
        case let .write(key, value, version, epoch, counter, expiresAt):
            if let r = records[key], (r.epoch, r.counter) >= (epoch, counter) { return [Reply.ignored] }
            records[key] = Record(value: value, version: version, epoch: epoch, counter: counter,
                                  expiresAtMillis: value == nil ? nil : expiresAt)
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
            records[key] = Record(value: value, version: version, epoch: epoch, counter: counter, expiresAtMillis: expiresAt)
            var w = ByteWriter(capacity: value.count + 16)
            w.u8(Reply.appliedWithValue); w.u8(1); w.blob(value)
            if let expiresAt { w.u8(1); w.varint(expiresAt) } else { w.u8(0) }
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

    /// Image form; `withExpiry` from shard image version 4 on.
    func encode(into w: inout ByteWriter) {
        w.varint(UInt64(records.count))
        for key in records.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard let r = records[key] else { continue }
            w.blob(key)
            if let v = r.value { w.u8(1); w.blob(v) } else { w.u8(0) }
            w.varint(r.version); w.varint(r.epoch); w.varint(r.counter)
            if let e = r.expiresAtMillis { w.u8(1); w.varint(e) } else { w.u8(0) }
        }
    }

    /// Reads the image form; `withExpiry` is false for images of version 3 (no expiries).
    init(decoding r: inout ByteReader, withExpiry: Bool) throws(WireError) {
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
            records[key] = Record(value: value, version: version, epoch: epoch, counter: counter, expiresAtMillis: expiresAt)
        }
    }
}
