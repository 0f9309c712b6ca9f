import ChorusLocks
import ChorusQueue
import ChorusWire

/// A command of the shard state machine, as proposed to a shard's Raft group: the lock
/// service's commands, the queue service's commands, the cache's write-throughs, and the
/// key-value map.
///
/// Invariant: `decode(encode(c)) == c`, and `decode` of anything else throws a `WireError`.
public enum ShardCommand: Hashable, Sendable {
    /// Sets `key` to `value`.
    case put(key: [UInt8], value: [UInt8])
    /// Removes `key`.
    case delete(key: [UInt8])
    /// A lock-service command (`LockCodec` bytes, validated when decoded).
    case lock(LockCommand)
    /// A queue-service command: a catalogue entry or a partition entry (`QueueShardCommand`).
    case queue(QueueShardCommand)
    /// A cache home's write-through (`CacheShardCommand`).
    case cache(CacheShardCommand)

    public static let maxKeyBytes = 1024
    public static let maxValueBytes = 1 << 20

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        switch self {
        case let .put(key, value): w.u8(1); w.blob(key); w.blob(value)
        case let .delete(key): w.u8(2); w.blob(key)
        case let .lock(command): w.u8(3); w.raw(LockCodec.encode(command))
        case let .queue(command): w.u8(4); command.encode(into: &w)
        case let .cache(command): w.u8(5); command.encode(into: &w)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        let tag = try r.u8()
        switch tag {
        case 1:
            let key = try r.blob("key", limit: ShardCommand.maxKeyBytes)
            self = .put(key: key, value: try r.blob("value", limit: ShardCommand.maxValueBytes))
        case 2:
            self = .delete(key: try r.blob("key", limit: ShardCommand.maxKeyBytes))
        case 3:
            self = .lock(try LockCodec.decodeCommand(try r.raw(r.remaining)))
        case 4:
            self = .queue(try QueueShardCommand.decode(&r))
        case 5:
            self = .cache(try CacheShardCommand.decode(&r))
        default:
            throw .invalid(field: "shard command", reason: "tag \(tag)")
        }
        try r.expectEnd()
    }
}
