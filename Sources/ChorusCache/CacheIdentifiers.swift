import ChorusWire

/// A node as the cache protocol names it: an opaque number chosen by the node layer.
/// Invariant: two controllers that run at the same time never share an id.
public struct CacheNodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let raw: UInt64
    @inlinable public init(_ raw: UInt64) { self.raw = raw }
    @inlinable public static func < (a: CacheNodeID, b: CacheNodeID) -> Bool { a.raw < b.raw }
    public var description: String { "n\(raw)" }
}

/// A cache key: a byte string of at most `CacheCodec.maxKeyBytes` bytes.
/// Invariant: equal keys have equal bytes; the order is the bytes' lexicographic order, so
/// a sweep over many keys (membership changes, ticks) visits them in the same order in
/// every process. `digest` is the bytes hashed once, when the key is made, with the
/// process's seeded `Hasher` (so an outsider cannot choose colliding keys); every table the
/// key is looked up in hashes the digest, not the bytes again.
public struct CacheKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let digest: Int
    @inlinable public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        digest = hasher.finalize()
    }
    public init(_ text: String) { self.init(Array(text.utf8)) }

    @inlinable public func hash(into hasher: inout Hasher) { hasher.combine(digest) }
    @inlinable public static func == (a: CacheKey, b: CacheKey) -> Bool { a.digest == b.digest && a.bytes == b.bytes }
    public static func < (a: CacheKey, b: CacheKey) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
    public var description: String { String(decoding: bytes, as: UTF8.self) }
}

/// Names one request of one cache controller incarnation. A controller numbers its
/// requests 1, 2, 3 … and a restarted controller takes a larger incarnation, so the home
/// can tell a retransmission (same tag) from a new request and an old life from a new one.
/// Invariant: tags of one controller increase in (incarnation, sequence) order.
public struct RequestTag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let incarnation: UInt64
    public let sequence: UInt64
    @inlinable public init(incarnation: UInt64, sequence: UInt64) {
        self.incarnation = incarnation
        self.sequence = sequence
    }
    public static func < (a: RequestTag, b: RequestTag) -> Bool {
        (a.incarnation, a.sequence) < (b.incarnation, b.sequence)
    }
    public var description: String { "r\(incarnation).\(sequence)" }
}

/// One transaction of a home directory: the home's epoch (a new home, or the same node
/// homing again, takes a larger one) and a counter within it. Every grant names the
/// transaction that made it, so a stale invalidation or put can be recognised as older
/// than the copy it meets. Invariant: transactions of one key's successive homes increase.
public struct TxnID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let epoch: UInt64
    public let counter: UInt64
    @inlinable public init(epoch: UInt64, counter: UInt64) {
        self.epoch = epoch
        self.counter = counter
    }
    public static func < (a: TxnID, b: TxnID) -> Bool { (a.epoch, a.counter) < (b.epoch, b.counter) }
    public var description: String { "t\(epoch).\(counter)" }
}

/// A client operation waiting on a controller, named by the node layer (for example the
/// connection and the request number). The controller hands it back in `.complete`.
public struct ClientOpID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let raw: UInt64
    @inlinable public init(_ raw: UInt64) { self.raw = raw }
    @inlinable public static func < (a: ClientOpID, b: ClientOpID) -> Bool { a.raw < b.raw }
    public var description: String { "op\(raw)" }
}
