import ChorusMembership

/// What the ring needs to know about one member of the membership view: its name and its
/// SWIM status. Nothing else (address, tags, incarnation, phi) may influence placement, so two
/// nodes that agree on names and statuses agree on the ring.
///
/// Invariant: `isOnRing` ⇔ the status is alive or suspect. A suspicion is often a slow
/// packet, and it must not move shards back and forth; only a verdict (dead) or a graceful
/// leave takes a member off the ring.
public struct RingMember: Hashable, Sendable {
    public var name: String
    public var status: MemberStatus

    public init(name: String, status: MemberStatus) {
        self.name = name
        self.status = status
    }

    /// The ring's view of a membership snapshot entry.
    public init(_ info: Membership.MemberInfo) {
        self.init(name: info.name, status: info.status)
    }

    public var isOnRing: Bool { status.isLive }
}
