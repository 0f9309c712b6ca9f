import ChorusCache
import ChorusShards
import ChorusWire

/// Tags of the cache's client requests and replies inside peer messages, and the version of
/// the cache frame's body.
enum CacheWire {
    static let firstTag: UInt8 = 48
    static let lastTag: UInt8 = 55
    /// The peer message kind of a cache frame (1 and 2 are request and reply).
    static let frameKind: UInt8 = 3
    /// 2: values are `CacheRecord`s and write values `CacheMutation`s (a node of version 1
    /// would read them as plain bytes, so the two do not talk).
    static let frameVersion: UInt8 = 2
}

// The cache on the peer streams: one-way coherence frames (kind 3) and the cache's client
// requests and replies forwarded to a replica (tags 48…55).
//
// ```
// frame   = header (kind 3, callID 0, budget 0) · frameVersion u8 = 2 · life varint · CacheCodec message
// request 48 get · key   49 put · key · value   50 delete · key   51 stats
//         52 put expiring · key · value · ttlMillis   53 increment · key · by zigzag
// reply   48 value · key · present u8 · [value]   49 written · key   51 integer · key · zigzag
//         50 statistics · hits · misses · writes · operations · invalidations sent · received
//            · evictions · expirations · messages sent · retransmissions · bytes · directory entries
// ```
// The coherence message keeps `CacheCodec`'s own version byte, so either layer can change
// alone. Every count is a varint; every length is bounded before anything is allocated.
extension PeerMessageCodec {
    static func encodeCacheFrame(life: UInt64, _ message: CacheMessage, into w: inout ByteWriter) {
        w.u8(CacheWire.frameVersion); w.varint(life); CacheCodec.encode(message, into: &w)
    }

    static func decodeCacheFrame(_ r: inout ByteReader) throws(WireError) -> PeerMessage.Body {
        let v = try r.u8()
        guard v == CacheWire.frameVersion else { throw .invalid(field: "cache frame version", reason: "unsupported version \(v)") }
        let life = try r.varint()
        return .cache(life: life, try CacheCodec.decode(&r))
    }

    static func encodeCacheRequest(_ c: ClientRequest, into w: inout ByteWriter) {
        switch c {
        case let .cacheGet(key): w.u8(48); w.blob(key)
        case let .cachePut(key, value): w.u8(49); w.blob(key); w.blob(value)
        case let .cacheDelete(key): w.u8(50); w.blob(key)
        case .cacheStats: w.u8(51)
        case let .cachePutExpiring(key, value, ttl): w.u8(52); w.blob(key); w.blob(value); w.varint(ttl)
        case let .cacheIncrement(key, by): w.u8(53); w.blob(key); w.varint(zigzag(by))
        default: break
        }
    }

    static func decodeCacheRequest(_ tag: UInt8, _ r: inout ByteReader) throws(WireError) -> ClientRequest {
        switch tag {
        case 48: return .cacheGet(key: try cacheKey(&r))
        case 49:
            let key = try cacheKey(&r)
            return .cachePut(key: key, value: try r.blob("cache value", limit: CacheShardCommand.maxValueBytes))
        case 50: return .cacheDelete(key: try cacheKey(&r))
        case 51: return .cacheStats
        case 52:
            let key = try cacheKey(&r)
            let value = try r.blob("cache value", limit: CacheShardCommand.maxValueBytes)
            return .cachePutExpiring(key: key, value: value, ttlMillis: try r.varint())
        case 53:
            let key = try cacheKey(&r)
            return .cacheIncrement(key: key, by: unzigzag(try r.varint()))
        default: throw .invalid(field: "client request", reason: "unknown tag \(tag)")
        }
    }

    static func encodeCacheReply(_ c: ClientReply, into w: inout ByteWriter) {
        switch c {
        case let .cacheValue(key, value):
            w.u8(48); w.blob(key)
            if let value { w.u8(1); w.blob(value) } else { w.u8(0) }
        case let .cacheWritten(key): w.u8(49); w.blob(key)
        case let .cacheInteger(key, value): w.u8(51); w.blob(key); w.varint(zigzag(value))
        case let .cacheStatistics(m):
            w.u8(50)
            for n in [m.hits, m.misses, m.writes, m.operations, m.invalidationsSent, m.invalidationsReceived, m.evictions,
                      m.expirations, m.messagesSent, m.retransmissions] { w.varint(n) }
            w.varint(UInt64(max(0, m.bytes))); w.varint(UInt64(max(0, m.directoryEntries)))
        default: break
        }
    }

    static func decodeCacheReply(_ tag: UInt8, _ r: inout ByteReader) throws(WireError) -> ClientReply {
        switch tag {
        case 48:
            let key = try cacheKey(&r)
            let value: [UInt8]? = try decodeFlag(&r) ? try r.blob("cache value", limit: CacheShardCommand.maxValueBytes) : nil
            return .cacheValue(key: key, value: value)
        case 49: return .cacheWritten(key: try cacheKey(&r))
        case 51:
            let key = try cacheKey(&r)
            return .cacheInteger(key: key, value: unzigzag(try r.varint()))
        case 50:
            var m = CacheMetrics()
            m.hits = try r.varint(); m.misses = try r.varint(); m.writes = try r.varint(); m.operations = try r.varint()
            m.invalidationsSent = try r.varint(); m.invalidationsReceived = try r.varint(); m.evictions = try r.varint()
            m.expirations = try r.varint(); m.messagesSent = try r.varint(); m.retransmissions = try r.varint()
            m.bytes = Int(clamping: try r.varint()); m.directoryEntries = Int(clamping: try r.varint())
            return .cacheStatistics(m)
        default: throw .invalid(field: "client reply", reason: "unknown tag \(tag)")
        }
    }

    static func zigzag(_ n: Int64) -> UInt64 { UInt64(bitPattern: (n << 1) ^ (n >> 63)) }
    static func unzigzag(_ z: UInt64) -> Int64 { Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1) }

    static func cacheKey(_ r: inout ByteReader) throws(WireError) -> [UInt8] {
        let key = try r.blob("cache key", limit: CacheShardCommand.maxKeyBytes)
        guard !key.isEmpty else { throw .invalid(field: "cache key", reason: "empty") }
        return key
    }
}
