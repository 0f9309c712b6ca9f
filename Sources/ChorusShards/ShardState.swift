import ChorusRaft
import ChorusWire

/// What each shard replicates: a key-value map (more services join it), applied from
/// `ShardCommand`s.
///
/// Invariants: deterministic (`image()` writes keys in sorted order; nothing follows a
/// dictionary order); an unreadable command changes nothing and is answered with an error
/// reply; `revision` is the log index of the last change to the map.
public struct ShardState: ReplicatedStateMachine, Equatable {
    public private(set) var values: [[UInt8]: [UInt8]] = [:]
    public private(set) var revision: UInt64 = 0

    /// The reply to a command: a status byte, 0 = done, 1 = key was absent (delete),
    /// 2 = the command could not be read.
    public enum Reply: UInt8, Sendable {
        case done = 0, absent = 1, unreadable = 2
    }

    public init() {}

    public init(image: [UInt8]) throws {
        var r = ByteReader(image)
        revision = try r.varint()
        let count = try r.count("keys", limit: r.remaining / 2)
        for _ in 0..<count {
            let key = try r.blob("key", limit: ShardCommand.maxKeyBytes)
            values[key] = try r.blob("value", limit: ShardCommand.maxValueBytes)
        }
        try r.expectEnd()
    }

    public mutating func apply(_ command: [UInt8], at index: LogIndex) -> [UInt8] {
        guard let c = try? ShardCommand(decoding: command) else { return [Reply.unreadable.rawValue] }
        switch c {
        case let .put(key, value):
            values[key] = value
            revision = index.value
            return [Reply.done.rawValue]
        case let .delete(key):
            guard values.removeValue(forKey: key) != nil else { return [Reply.absent.rawValue] }
            revision = index.value
            return [Reply.done.rawValue]
        }
    }

    public func image() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + values.count * 32)
        w.varint(revision)
        w.varint(UInt64(values.count))
        for key in values.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            w.blob(key); w.blob(values[key] ?? [])
        }
        return w.bytes
    }
}
