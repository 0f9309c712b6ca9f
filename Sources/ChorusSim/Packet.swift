import ChorusBase

/// One message in flight between two simulated nodes.
///
/// Invariant: `fromEpoch`/`toEpoch` are the endpoints' crash epochs when the packet was sent;
/// a reliable packet is delivered only if both are unchanged at arrival (a crash breaks the
/// stream), and `bytes` is the size the sender declared, for traffic accounting only.
public struct Packet<Message> {
    public var from: SimNodeID
    public var to: SimNodeID
    public var message: Message
    public var bytes: Int32
    public var reliable: Bool
    /// True for the second copy made by duplication.
    public var isDuplicate: Bool
    public var fromEpoch: UInt32
    public var toEpoch: UInt32
    public var sentAt: Instant

    @inlinable
    public init(from: SimNodeID, to: SimNodeID, message: Message, bytes: Int32, reliable: Bool,
                isDuplicate: Bool, fromEpoch: UInt32, toEpoch: UInt32, sentAt: Instant) {
        self.from = from
        self.to = to
        self.message = message
        self.bytes = bytes
        self.reliable = reliable
        self.isDuplicate = isDuplicate
        self.fromEpoch = fromEpoch
        self.toEpoch = toEpoch
        self.sentAt = sentAt
    }
}

extension Packet: Sendable where Message: Sendable {}

/// A driver's event type that can carry a packet arrival, so `Network` can schedule
/// deliveries straight into the driver's own `EventQueue` (one queue, one tie-break order).
///
/// Invariant: `delivery(_:)` wraps the packet unchanged; the driver hands the same packet to
/// `Network.arrive(_:at:)` when the event pops.
///
/// ```swift
/// enum ClusterEvent: PacketEvent {
///     case timer(SimNodeID, TimerKind)
///     case delivery(Packet<WireMessage>)   // an enum case satisfies the requirement
/// }
/// // in the loop:
/// case .delivery(let packet):
///     guard network.arrive(packet, at: now) else { break }   // dropped: counted already
///     nodes[packet.to.index].step(.received(packet.message, from: packet.from), at: now)
/// ```
public protocol PacketEvent {
    associatedtype Message
    static func delivery(_ packet: Packet<Message>) -> Self
}
