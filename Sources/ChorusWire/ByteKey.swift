/// A byte string used as a dictionary key, hashed in one call over its bytes.
///
/// `[UInt8]`'s own `Hashable` feeds the hasher one byte at a time, which showed up in the
/// profile of Raft's key-value state machine. Invariant: two keys are equal ⇔ their bytes
/// are, and equal keys hash alike (the length and then the bytes are hashed).
public struct ByteKey: Hashable, Sendable {
    public let bytes: [UInt8]

    @inlinable public init(_ bytes: [UInt8]) { self.bytes = bytes }

    @inlinable public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.count)
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    @inlinable public static func == (a: ByteKey, b: ByteKey) -> Bool { a.bytes == b.bytes }
}
