import ChorusWire

/// The client protocol of `chorus raft serve`: compact binary messages, each carried in one
/// length-prefixed frame (ChorusWire `Frame`), pipelined: a client may have many requests in
/// flight on one connection, and responses carry the request id they answer (they may come
/// back in any order).
///
/// ```
/// request frame:  magic "KV" · version u8 = 1 · id u64 · op u8 · key (u16 length + bytes)
///                 · value (u32 length + bytes)
/// response frame: magic "KR" · version u8 = 1 · count u16 (≥ 1), then `count` times:
///                 id u64 · status u8 · leader u64 (0: unknown) · value (u32 length + bytes)
/// ```
///
/// Ops: 1 put (value stored once committed and applied), 2 get (a linearizable read through
/// ReadIndex; `notFound` if the key is absent), 3 status (answered by any node: value =
/// pid u64 · term u64 · commit u64 · applied u64 · role u8 (0 follower, 1 candidate,
/// 2 leader, 3 pre-candidate)). A server batches every response it has for a connection at
/// the end of a loop turn into one frame. Invariant: the decoders are total (they throw
/// `WireError` and never trap), and keys and values are bounded by `Limits`.
public enum RaftClientProtocol {
    public static let requestMagic: UInt16 = 0x4B56 // "KV"
    public static let responseMagic: UInt16 = 0x4B52 // "KR"
    public static let version: UInt8 = 1
    public static let maxKeyBytes = 1024
    public static let maxValueBytes = 1 << 20
    public static let maxResponsesPerFrame = 65_535

    public enum Op: UInt8, Sendable { case put = 1, get = 2, status = 3 }

    public enum Status: UInt8, Sendable, CustomStringConvertible {
        case ok = 0
        /// This node is not the leader; `leader` names the one it knows (0: none known).
        case notLeader = 1
        case notFound = 2
        /// Try again: the leader changed before the entry committed, or the leader is
        /// overloaded or transferring leadership.
        case retry = 3
        case badRequest = 4
        /// The put would grow the map beyond `RaftDriverMap.maxImageBytes` (its snapshot must
        /// fit one message); nothing was written.
        case full = 5
        public var description: String {
            switch self {
            case .ok: return "ok"
            case .notLeader: return "not leader"
            case .notFound: return "not found"
            case .retry: return "retry"
            case .badRequest: return "bad request"
            case .full: return "full"
            }
        }
    }

    public struct Request: Sendable, Equatable {
        public var id: UInt64
        public var op: Op
        public var key: [UInt8]
        public var value: [UInt8]
        public init(id: UInt64, op: Op, key: [UInt8] = [], value: [UInt8] = []) {
            self.id = id; self.op = op; self.key = key; self.value = value
        }
    }

    public struct Response: Sendable, Equatable {
        public var id: UInt64
        public var status: Status
        public var leader: UInt64
        public var value: [UInt8]
        public init(id: UInt64, status: Status, leader: UInt64 = 0, value: [UInt8] = []) {
            self.id = id; self.status = status; self.leader = leader; self.value = value
        }
    }

    /// The fields of a status answer.
    public struct NodeStatus: Sendable, Equatable {
        public var pid: UInt64, term: UInt64, commit: UInt64, applied: UInt64, role: UInt8
        public var isLeader: Bool { role == 2 }
    }

    public static func encode(_ r: Request) -> [UInt8] {
        var w = ByteWriter(capacity: 20 + r.key.count + r.value.count)
        w.u16(requestMagic); w.u8(version); w.u64(r.id); w.u8(r.op.rawValue)
        w.u16(UInt16(truncatingIfNeeded: r.key.count)); w.raw(r.key)
        w.u32(UInt32(truncatingIfNeeded: r.value.count)); w.raw(r.value)
        return w.bytes
    }

    public static func decodeRequest(_ bytes: [UInt8]) throws(WireError) -> Request {
        var r = ByteReader(bytes)
        guard try r.u16() == requestMagic, try r.u8() == version else { throw WireError.invalid(field: "client frame", reason: "client request: bad magic or version") }
        let id = try r.u64()
        guard let op = Op(rawValue: try r.u8()) else { throw WireError.invalid(field: "client frame", reason: "client request: unknown op") }
        let keyCount = Int(try r.u16())
        guard keyCount <= maxKeyBytes, keyCount <= r.remaining else { throw WireError.invalid(field: "client frame", reason: "client request: key length") }
        let key = try r.raw(keyCount)
        let valueCount = Int(try r.u32())
        guard valueCount <= maxValueBytes, valueCount <= r.remaining else { throw WireError.invalid(field: "client frame", reason: "client request: value length") }
        let value = try r.raw(valueCount)
        try r.expectEnd()
        return Request(id: id, op: op, key: key, value: value)
    }

    /// Appends one response to a batch being built (start it with `beginResponses`).
    public static func append(_ r: Response, to w: inout ByteWriter) {
        w.u64(r.id); w.u8(r.status.rawValue); w.u64(r.leader)
        w.u32(UInt32(truncatingIfNeeded: r.value.count)); w.raw(r.value)
    }

    public static func beginResponses(_ w: inout ByteWriter) {
        w.u16(responseMagic); w.u8(version); w.u16(0)
    }

    /// Sets the count of a batch started with `beginResponses` at offset 0.
    public static func finishResponses(_ bytes: inout [UInt8], count: Int) {
        bytes[3] = UInt8(truncatingIfNeeded: count >> 8)
        bytes[4] = UInt8(truncatingIfNeeded: count)
    }

    public static func encode(_ responses: [Response]) -> [UInt8] {
        var w = ByteWriter()
        beginResponses(&w)
        for r in responses { append(r, to: &w) }
        var bytes = w.bytes
        finishResponses(&bytes, count: responses.count)
        return bytes
    }

    public static func decodeResponses(_ bytes: [UInt8]) throws(WireError) -> [Response] {
        var r = ByteReader(bytes)
        guard try r.u16() == responseMagic, try r.u8() == version else { throw WireError.invalid(field: "client frame", reason: "client response: bad magic or version") }
        let count = Int(try r.u16())
        guard count >= 1 else { throw WireError.invalid(field: "client frame", reason: "client response: empty batch") }
        var out: [Response] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let id = try r.u64()
            guard let status = Status(rawValue: try r.u8()) else { throw WireError.invalid(field: "client frame", reason: "client response: unknown status") }
            let leader = try r.u64()
            let n = Int(try r.u32())
            guard n <= maxValueBytes, n <= r.remaining else { throw WireError.invalid(field: "client frame", reason: "client response: value length") }
            out.append(Response(id: id, status: status, leader: leader, value: try r.raw(n)))
        }
        try r.expectEnd()
        return out
    }

    public static func encodeStatus(_ s: NodeStatus) -> [UInt8] {
        var w = ByteWriter(capacity: 33)
        w.u64(s.pid); w.u64(s.term); w.u64(s.commit); w.u64(s.applied); w.u8(s.role)
        return w.bytes
    }

    public static func decodeStatus(_ bytes: [UInt8]) throws(WireError) -> NodeStatus {
        var r = ByteReader(bytes)
        let s = NodeStatus(pid: try r.u64(), term: try r.u64(), commit: try r.u64(), applied: try r.u64(), role: try r.u8())
        try r.expectEnd()
        return s
    }
}
