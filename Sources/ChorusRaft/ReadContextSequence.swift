/// ReadIndex contexts that never repeat within a group (Raft dissertation §6.4): the
/// member's id, an incarnation the driver picks anew every time the process starts, and a
/// counter. A leader matches heartbeat answers to reads by context alone, so a context used
/// twice would let an answer delayed from the first read confirm the second — possibly for a
/// leader deposed in between, which then serves a stale read.
///
/// Layout (24 bytes, big-endian): member id · incarnation · counter.
/// Invariants: one sequence never issues a context twice (the counter only grows); sequences
/// of different members, or of one member's different incarnations, never issue the same
/// context; `counter(of:)` answers only for contexts this sequence could have issued.
public struct ReadContextSequence: Sendable {
    public static let byteCount = 24

    public let member: NodeID
    public let incarnation: UInt64
    /// The counter of the last context issued (0: none yet).
    public private(set) var issued: UInt64 = 0

    /// `incarnation` must differ between two starts of `member` (a random number, say).
    public init(member: NodeID, incarnation: UInt64) {
        self.member = member
        self.incarnation = incarnation
    }

    /// The next context; its counter is `issued` afterwards.
    public mutating func next() -> [UInt8] {
        issued &+= 1
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        for value in [member.value, incarnation, issued] {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// The counter of `context` if this sequence issued it, else nil (another member's or
    /// another incarnation's context, or any other bytes).
    public func counter(of context: [UInt8]) -> UInt64? {
        guard context.count == Self.byteCount else { return nil }
        func word(_ i: Int) -> UInt64 { context[(i * 8)..<(i * 8 + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
        guard word(0) == member.value, word(1) == incarnation else { return nil }
        let counter = word(2)
        return counter >= 1 && counter <= issued ? counter : nil
    }
}
