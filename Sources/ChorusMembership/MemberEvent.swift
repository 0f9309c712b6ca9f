import ChorusBase

/// A change in this node's view of one member. The ring and the API subscribe to these.
/// Invariant: events about one member are emitted in the order the view changed.
public struct MemberEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// First seen alive, or alive again after dead/left (a restart).
        case joined
        /// Suspected of failure.
        case suspect
        /// Refuted a suspicion: alive again.
        case alive
        /// Declared dead.
        case dead
        /// Left gracefully.
        case left
        /// Tags or address changed while alive.
        case updated
    }
    public var kind: Kind
    public var name: String
    public var address: Endpoint
    public var incarnation: Incarnation
    public var tags: Tags
    public var at: Instant
}

/// What the state machine asks its driver to do. Drivers perform effects in order.
public enum MembershipEffect: Sendable {
    /// Send a packet to an address over a transport.
    case send(Packet, to: Endpoint, via: Transport)
    /// Report a view change.
    case event(MemberEvent)
}
