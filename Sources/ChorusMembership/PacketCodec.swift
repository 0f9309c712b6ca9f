import ChorusBase
import ChorusWire

/// The binary wire format of membership packets, version 1.
///
/// ```
/// header  : magic "CH" (2) | version u8 | type u8 | cluster u32 | sender string
/// body    : per type (see `encodeBody`)
/// gossip  : count varint | count × update
/// update  : flags u8 (status in bits 0-1, has-tags bit 2, has-accusers bit 3)
///           | name string | address | incarnation varint | [tags] | [accusers]
/// ```
/// Invariant: `decode` is total — any byte string yields a `Packet` or a `WireError` — and
/// `decode(encode(p)) == p` for every packet the encoder accepts.
public enum PacketCodec {
    public static let magic: (UInt8, UInt8) = (0x43, 0x48)
    public static let version: UInt8 = 1
    /// Longest member name accepted (bytes of UTF-8).
    public static let maxNameBytes = 128
    /// Most accusers carried by one suspect update.
    public static let maxAccusers = 8
    /// Most updates piggybacked on one datagram (a 1400-byte budget fits far fewer).
    public static let maxPiggyback = 1024
    /// Most members in one push-pull state (a stream frame is bounded separately).
    public static let maxStateMembers = 1_000_000

    enum TypeCode: UInt8 {
        case ping = 1, pingReq = 2, ack = 3, nack = 4, gossip = 5, pushPull = 6
    }

    // MARK: sizes (for budgeting without encoding)

    public static func headerSize(sender: String) -> Int { 8 + ByteWriter.stringSize(sender) }

    public static func bodySize(_ m: Message) -> Int {
        switch m {
        case let .ping(seq, target): return ByteWriter.varintSize(UInt64(seq)) + ByteWriter.stringSize(target)
        case let .pingReq(seq, target, address, timeout):
            return ByteWriter.varintSize(UInt64(seq)) + ByteWriter.stringSize(target) + ByteWriter.endpointSize(address)
                + ByteWriter.varintSize(UInt64(max(0, timeout.nanoseconds / 1000)))
        case let .ack(seq), let .nack(seq): return ByteWriter.varintSize(UInt64(seq))
        case .gossip: return 0
        case let .pushPull(p):
            var n = 1 + ByteWriter.varintSize(UInt64(p.members.count))
            if let d = p.digest { n += ByteWriter.varintSize(UInt64(d.count)) + 8 * d.count }
            if let b = p.buckets {
                n += ByteWriter.varintSize(UInt64(p.bucketCount ?? 0)) + ByteWriter.varintSize(UInt64(b.count))
                for x in b { n += ByteWriter.varintSize(UInt64(x)) }
            }
            for u in p.members { n += updateSize(u) }
            return n
        }
    }

    public static func updateSize(_ u: MemberUpdate) -> Int {
        var n = 1 + ByteWriter.stringSize(u.name) + ByteWriter.endpointSize(u.address) + ByteWriter.varintSize(UInt64(u.incarnation))
        if !u.tags.isEmpty { n += u.tags.encodedSize }
        if !u.accusers.isEmpty {
            n += ByteWriter.varintSize(UInt64(u.accusers.count))
            for a in u.accusers { n += ByteWriter.stringSize(a) }
        }
        return n
    }

    /// Size of the gossip count field for `count` updates.
    public static func gossipCountSize(_ count: Int) -> Int { ByteWriter.varintSize(UInt64(count)) }

    public static func size(_ p: Packet) -> Int {
        var n = headerSize(sender: p.sender) + bodySize(p.message) + gossipCountSize(p.updates.count)
        for u in p.updates { n += updateSize(u) }
        return n
    }

    // MARK: encoding

    public static func encode(_ p: Packet) -> [UInt8] {
        var w = ByteWriter(capacity: size(p))
        w.u8(magic.0); w.u8(magic.1); w.u8(version)
        let code: TypeCode
        switch p.message {
        case .ping: code = .ping
        case .pingReq: code = .pingReq
        case .ack: code = .ack
        case .nack: code = .nack
        case .gossip: code = .gossip
        case .pushPull: code = .pushPull
        }
        w.u8(code.rawValue)
        w.u32(p.cluster)
        w.string(p.sender)
        switch p.message {
        case let .ping(seq, target):
            w.varint(UInt64(seq)); w.string(target)
        case let .pingReq(seq, target, address, timeout):
            w.varint(UInt64(seq)); w.string(target); w.endpoint(address)
            w.varint(UInt64(max(0, timeout.nanoseconds / 1000)))
        case let .ack(seq), let .nack(seq):
            w.varint(UInt64(seq))
        case .gossip:
            break
        case let .pushPull(pp):
            var flags: UInt8 = (pp.isJoin ? 1 : 0) | pp.phase.rawValue << 1 | (pp.responderLearned ? 8 : 0)
            if pp.digest != nil { flags |= 16 }
            if pp.buckets != nil { flags |= 32 }
            w.u8(flags)
            if let d = pp.digest { w.varint(UInt64(d.count)); for x in d { w.u64(x) } }
            if let b = pp.buckets {
                w.varint(UInt64(pp.bucketCount ?? 0)); w.varint(UInt64(b.count)); for x in b { w.varint(UInt64(x)) }
            }
            w.varint(UInt64(pp.members.count))
            for u in pp.members { encodeUpdate(u, into: &w) }
        }
        w.varint(UInt64(p.updates.count))
        for u in p.updates { encodeUpdate(u, into: &w) }
        return w.bytes
    }

    static func encodeUpdate(_ u: MemberUpdate, into w: inout ByteWriter) {
        var flags = u.status.rawValue
        if !u.tags.isEmpty { flags |= 4 }
        if !u.accusers.isEmpty { flags |= 8 }
        w.u8(flags)
        w.string(u.name)
        w.endpoint(u.address)
        w.varint(UInt64(u.incarnation))
        if !u.tags.isEmpty { u.tags.encode(into: &w) }
        if !u.accusers.isEmpty {
            w.varint(UInt64(u.accusers.count))
            for a in u.accusers { w.string(a) }
        }
    }

    // MARK: decoding

    /// Decodes a packet. Checks magic and version; the cluster is returned for the caller to
    /// compare (a mismatch is not a decoding error but a policy drop).
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Packet {
        var r = ByteReader(bytes)
        let m0 = try r.u8(), m1 = try r.u8()
        guard m0 == magic.0 && m1 == magic.1 else { throw WireError.invalid(field: "magic", reason: "not a Chorus packet") }
        let v = try r.u8()
        guard v == version else { throw WireError.invalid(field: "version", reason: "unsupported protocol version \(v)") }
        let rawType = try r.u8()
        guard let code = TypeCode(rawValue: rawType) else { throw WireError.invalid(field: "message type", reason: "\(rawType)") }
        let cluster = try r.u32()
        let sender = try name(&r, "sender")
        let message: Message
        switch code {
        case .ping:
            let seq = try seq32(&r)
            message = .ping(seq: seq, target: try name(&r, "target"))
        case .pingReq:
            let seq = try seq32(&r)
            let target = try name(&r, "target")
            let address = try r.endpoint()
            let micros = try r.varint()
            guard micros <= 3_600_000_000 else { throw WireError.tooLarge(field: "timeout", value: Int(clamping: micros), limit: 3_600_000_000) }
            message = .pingReq(seq: seq, target: target, address: address, timeout: .microseconds(Int64(micros)))
        case .ack: message = .ack(seq: try seq32(&r))
        case .nack: message = .nack(seq: try seq32(&r))
        case .gossip: message = .gossip
        case .pushPull:
            let flags = try r.u8()
            guard flags & ~63 == 0, let phase = PushPull.Phase(rawValue: (flags >> 1) & 3) else {
                throw WireError.invalid(field: "push-pull flags", reason: "\(flags)")
            }
            var digest: [UInt64]?
            if flags & 16 != 0 {
                let n = try r.count("digest buckets", limit: PushPull.maxBuckets)
                guard n > 0 && n & (n - 1) == 0 else { throw WireError.invalid(field: "digest buckets", reason: "\(n) is not a power of two") }
                var d: [UInt64] = []
                d.reserveCapacity(n)
                for _ in 0..<n { d.append(try r.u64()) }
                digest = d
            }
            var buckets: [UInt32]?
            var bucketCount: Int?
            if flags & 32 != 0 {
                let total = try r.count("bucket count", limit: PushPull.maxBuckets)
                guard total > 0 && total & (total - 1) == 0 else { throw WireError.invalid(field: "bucket count", reason: "\(total) is not a power of two") }
                bucketCount = total
                let n = try r.count("differing buckets", limit: total)
                var b: [UInt32] = []
                b.reserveCapacity(n)
                for _ in 0..<n {
                    let x = try r.varint()
                    guard x < UInt64(total) else { throw WireError.tooLarge(field: "bucket", value: Int(clamping: x), limit: total - 1) }
                    b.append(UInt32(x))
                }
                buckets = b
            }
            // Each update takes at least 10 bytes, so a count beyond remaining/10 is a lie;
            // refusing it early keeps a hostile count from reserving memory.
            let n = try r.count("state members", limit: min(maxStateMembers, r.remaining / 10))
            var members: [MemberUpdate] = []
            members.reserveCapacity(n)
            for _ in 0..<n { members.append(try decodeUpdate(&r)) }
            var pp = PushPull(isJoin: flags & 1 != 0, phase: phase, responderLearned: flags & 8 != 0,
                              digest: digest, buckets: buckets, members: members)
            pp.bucketCount = bucketCount
            message = .pushPull(pp)
        }
        let n = try r.count("piggybacked updates", limit: min(maxPiggyback, r.remaining / 10))
        var updates: [MemberUpdate] = []
        updates.reserveCapacity(n)
        for _ in 0..<n { updates.append(try decodeUpdate(&r)) }
        try r.expectEnd()
        return Packet(cluster: cluster, sender: sender, message: message, updates: updates)
    }

    static func seq32(_ r: inout ByteReader) throws(WireError) -> UInt32 {
        let v = try r.varint()
        guard v <= UInt64(UInt32.max) else { throw WireError.tooLarge(field: "sequence", value: Int(clamping: v), limit: Int(UInt32.max)) }
        return UInt32(v)
    }

    static func name(_ r: inout ByteReader, _ field: String) throws(WireError) -> String {
        let s = try r.string(field, limit: maxNameBytes)
        guard !s.isEmpty else { throw WireError.invalid(field: field, reason: "empty name") }
        return s
    }

    static func decodeUpdate(_ r: inout ByteReader) throws(WireError) -> MemberUpdate {
        let flags = try r.u8()
        guard flags & ~0x0F == 0 else { throw WireError.invalid(field: "update flags", reason: "\(flags)") }
        guard let status = MemberStatus(rawValue: flags & 3) else { throw WireError.invalid(field: "status", reason: "\(flags & 3)") }
        let member = try name(&r, "member name")
        let address = try r.endpoint()
        let inc = try r.varint()
        guard inc <= UInt64(UInt32.max) else { throw WireError.tooLarge(field: "incarnation", value: Int(clamping: inc), limit: Int(UInt32.max)) }
        var tags = Tags()
        if flags & 4 != 0 {
            tags = try Tags.decode(from: &r)
            guard !tags.isEmpty else { throw WireError.invalid(field: "tags", reason: "flagged but empty") }
        }
        var accusers: [String] = []
        if flags & 8 != 0 {
            guard status == .suspect else { throw WireError.invalid(field: "accusers", reason: "only suspect updates carry accusers") }
            let n = try r.count("accusers", limit: maxAccusers)
            guard n > 0 else { throw WireError.invalid(field: "accusers", reason: "flagged but empty") }
            for _ in 0..<n {
                let a = try name(&r, "accuser")
                if !accusers.contains(a) { accusers.append(a) }
            }
        }
        return MemberUpdate(name: member, address: address, incarnation: UInt32(inc), status: status, tags: tags, accusers: accusers)
    }
}

/// Derives the 32-bit cluster id carried in every packet from the cluster's name (FNV-1a),
/// so that two clusters sharing a network drop each other's packets instead of merging.
public enum ClusterID {
    public static func from(name: String) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in name.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }
}
