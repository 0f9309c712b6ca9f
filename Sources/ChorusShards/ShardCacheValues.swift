import ChorusWire

/// The durable side of the cache on one shard: per key the value last written through by a
/// home, its version, and the home transaction that wrote it. A delete keeps its record
/// (value nil) so that versions of a key only grow across homes.
///
/// Invariants: a write is applied only if its transaction (epoch, counter) is newer than the
/// record's, so a retried proposal of one transaction applies once and a late proposal of a
/// deposed home never overwrites a newer home's write; `encode` writes keys in sorted order.
public struct ShardCacheValues: Equatable, Sendable {
    public struct Record: Equatable, Sendable {
        public var value: [UInt8]?
        public var version: UInt64
        public var epoch: UInt64
        public var counter: UInt64
    }

    public private(set) var records: [[UInt8]: Record] = [:]

    public init() {}

    /// The key's durable value and version (nil and 0 when never written).
    public func value(of key: [UInt8]) -> (value: [UInt8]?, version: UInt64) {
        guard let r = records[key] else { return (nil, 0) }
        return (r.value, r.version)
    }

    /// Reply bytes: 0 applied, 1 ignored (not newer than the record).
    mutating func apply(_ command: CacheShardCommand) -> [UInt8] {
        switch command {
        case let .write(key, value, version, epoch, counter):
            if let r = records[key], (r.epoch, r.counter) >= (epoch, counter) { return [1] }
            records[key] = Record(value: value, version: version, epoch: epoch, counter: counter)
            return [0]
        }
    }

    func encode(into w: inout ByteWriter) {
        w.varint(UInt64(records.count))
        for key in records.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard let r = records[key] else { continue }
            w.blob(key)
            if let v = r.value { w.u8(1); w.blob(v) } else { w.u8(0) }
            w.varint(r.version); w.varint(r.epoch); w.varint(r.counter)
        }
    }

    init(decoding r: inout ByteReader) throws(WireError) {
        let count = try r.count("cache records", limit: r.remaining / 5)
        for _ in 0..<count {
            let key = try r.blob("cache key", limit: CacheShardCommand.maxKeyBytes)
            let value = try CacheShardCommand.decodeValue(&r)
            let version = try r.varint(), epoch = try r.varint()
            records[key] = Record(value: value, version: version, epoch: epoch, counter: try r.varint())
        }
    }
}
