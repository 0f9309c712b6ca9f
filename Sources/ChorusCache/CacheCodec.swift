import ChorusWire

/// The binary form of `CacheMessage`, carried as the payload of a peer RPC frame.
/// Integers are varints; a value is a presence byte then a varint length and the bytes.
///
/// ```
/// message  = version u8 = 1 · kind u8 · key (varint length ≤ maxKeyBytes, bytes) · body
///  1 getS     tag · floor             8 fwdGetM  txn · requester · tag
///  2 getM     tag · floor · value     9 inv      txn · requester · tag
///  3 upgrade  tag · floor · value    10 invAck   tag · acker
///  4 putS     grant                  11 data     tag · txn · grant u8 · ackCount · version ·
///  5 putE     grant                              carries u8 (0|1) · value
///  6 putM     grant · version        12 putAck   grant
///  7 fwdGetS  txn · requester · tag  13 unblock  txn
///                                    14 nack     tag
/// tag = incarnation · sequence    txn = epoch · counter    value = 0 | 1 · length · bytes
/// ```
///
/// Invariant: `decode` is total — any bytes give a message whose encoding decodes to the
/// same message, or a `WireError`; it never traps and allocates no more than its input holds.
public enum CacheCodec {
    public static let version: UInt8 = 1
    /// Longest key accepted (Redis allows more, but a key this long is already a value).
    public static let maxKeyBytes = 4_096
    /// Largest value carried in one message (16 MiB, the peer stream's frame bound).
    public static let maxValueBytes = 16 << 20

    enum Kind: UInt8 {
        case getS = 1, getM, upgrade, putS, putE, putM, fwdGetS, fwdGetM, inv, invAck, data, putAck, unblock, nack
    }

    public static func encode(_ message: CacheMessage) -> [UInt8] {
        var w = ByteWriter(capacity: 32 + message.key.bytes.count)
        encode(message, into: &w)
        return w.bytes
    }

    public static func encode(_ message: CacheMessage, into w: inout ByteWriter) {
        w.u8(version)
        switch message {
        case let .getS(key, tag, floor):
            head(.getS, key, &w); put(tag, &w); w.varint(floor)
        case let .getM(key, tag, floor, value):
            head(.getM, key, &w); put(tag, &w); w.varint(floor); put(value, &w)
        case let .upgrade(key, tag, floor, value):
            head(.upgrade, key, &w); put(tag, &w); w.varint(floor); put(value, &w)
        case let .putS(key, grant):
            head(.putS, key, &w); put(grant, &w)
        case let .putE(key, grant):
            head(.putE, key, &w); put(grant, &w)
        case let .putM(key, grant, version):
            head(.putM, key, &w); put(grant, &w); w.varint(version)
        case let .fwdGetS(key, txn, requester, tag):
            head(.fwdGetS, key, &w); put(txn, &w); w.varint(requester.raw); put(tag, &w)
        case let .fwdGetM(key, txn, requester, tag):
            head(.fwdGetM, key, &w); put(txn, &w); w.varint(requester.raw); put(tag, &w)
        case let .inv(key, txn, requester, tag):
            head(.inv, key, &w); put(txn, &w); w.varint(requester.raw); put(tag, &w)
        case let .invAck(key, tag, acker):
            head(.invAck, key, &w); put(tag, &w); w.varint(acker.raw)
        case let .data(key, tag, txn, grant, ackCount, version, carriesValue, value):
            head(.data, key, &w); put(tag, &w); put(txn, &w); w.u8(grant.rawValue)
            w.varint(UInt64(ackCount)); w.varint(version); w.u8(carriesValue ? 1 : 0)
            put(carriesValue ? value : nil, &w)
        case let .putAck(key, grant):
            head(.putAck, key, &w); put(grant, &w)
        case let .unblock(key, txn):
            head(.unblock, key, &w); put(txn, &w)
        case let .nack(key, tag):
            head(.nack, key, &w); put(tag, &w)
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> CacheMessage {
        var r = ByteReader(bytes)
        let message = try decode(&r)
        try r.expectEnd()
        return message
    }

    public static func decode(_ r: inout ByteReader) throws(WireError) -> CacheMessage {
        let v = try r.u8()
        guard v == version else { throw WireError.invalid(field: "cache message version", reason: "\(v)") }
        let k = try r.u8()
        guard let kind = Kind(rawValue: k) else { throw WireError.invalid(field: "cache message kind", reason: "\(k)") }
        let key = CacheKey(try r.blob("cache key", limit: maxKeyBytes))
        switch kind {
        case .getS:
            return .getS(key: key, tag: try tag(&r), floor: try r.varint())
        case .getM:
            let t = try tag(&r), floor = try r.varint()
            return .getM(key: key, tag: t, floor: floor, value: try value(&r))
        case .upgrade:
            let t = try tag(&r), floor = try r.varint()
            return .upgrade(key: key, tag: t, floor: floor, value: try value(&r))
        case .putS:
            return .putS(key: key, grant: try txn(&r))
        case .putE:
            return .putE(key: key, grant: try txn(&r))
        case .putM:
            let g = try txn(&r)
            return .putM(key: key, grant: g, version: try r.varint())
        case .fwdGetS:
            let (t, n, g) = try forward(&r)
            return .fwdGetS(key: key, txn: t, requester: n, tag: g)
        case .fwdGetM:
            let (t, n, g) = try forward(&r)
            return .fwdGetM(key: key, txn: t, requester: n, tag: g)
        case .inv:
            let (t, n, g) = try forward(&r)
            return .inv(key: key, txn: t, requester: n, tag: g)
        case .invAck:
            let t = try tag(&r)
            return .invAck(key: key, tag: t, acker: CacheNodeID(try r.varint()))
        case .data:
            let t = try tag(&r), x = try txn(&r)
            let g = try r.u8()
            guard let grant = Grant(rawValue: g) else { throw WireError.invalid(field: "grant", reason: "\(g)") }
            let acks = try r.varint()
            guard acks <= UInt64(UInt32.max) else {
                throw WireError.tooLarge(field: "ack count", value: Int(clamping: acks), limit: Int(UInt32.max))
            }
            let version = try r.varint()
            let carries = try r.u8()
            guard carries <= 1 else { throw WireError.invalid(field: "carries value", reason: "\(carries)") }
            let val = try value(&r)
            if carries == 0 && val != nil { throw WireError.invalid(field: "data value", reason: "present but not carried") }
            return .data(key: key, tag: t, txn: x, grant: grant, ackCount: UInt32(acks), version: version,
                         carriesValue: carries == 1, value: val)
        case .putAck:
            return .putAck(key: key, grant: try txn(&r))
        case .unblock:
            return .unblock(key: key, txn: try txn(&r))
        case .nack:
            return .nack(key: key, tag: try tag(&r))
        }
    }

    // MARK: fields

    private static func head(_ kind: Kind, _ key: CacheKey, _ w: inout ByteWriter) {
        w.u8(kind.rawValue); w.blob(key.bytes)
    }
    private static func put(_ tag: RequestTag, _ w: inout ByteWriter) {
        w.varint(tag.incarnation); w.varint(tag.sequence)
    }
    private static func put(_ txn: TxnID, _ w: inout ByteWriter) {
        w.varint(txn.epoch); w.varint(txn.counter)
    }
    private static func put(_ value: [UInt8]?, _ w: inout ByteWriter) {
        if let value { w.u8(1); w.blob(value) } else { w.u8(0) }
    }
    private static func tag(_ r: inout ByteReader) throws(WireError) -> RequestTag {
        let i = try r.varint()
        return RequestTag(incarnation: i, sequence: try r.varint())
    }
    private static func txn(_ r: inout ByteReader) throws(WireError) -> TxnID {
        let e = try r.varint()
        return TxnID(epoch: e, counter: try r.varint())
    }
    private static func forward(_ r: inout ByteReader) throws(WireError) -> (TxnID, CacheNodeID, RequestTag) {
        let t = try txn(&r)
        let n = CacheNodeID(try r.varint())
        return (t, n, try tag(&r))
    }
    private static func value(_ r: inout ByteReader) throws(WireError) -> [UInt8]? {
        let present = try r.u8()
        switch present {
        case 0: return nil
        case 1: return try r.blob("cache value", limit: maxValueBytes)
        default: throw WireError.invalid(field: "value presence", reason: "\(present)")
        }
    }
}
