import ChorusMembership

/// What the ring needs to know about one member of the membership view: its name, its SWIM
/// status and whether it is draining. Nothing else (address, other tags, incarnation, phi)
/// may influence placement, so two nodes that agree on these three agree on the ring.
///
/// Invariant: `isOnRing` ⇔ the status is alive or suspect and the member is not draining.
/// A suspicion is often a slow packet, and it must not move shards back and forth; only a
/// verdict (dead), a graceful leave, or the announcement of one (draining) takes a member
/// off the ring.
public struct RingMember: Hashable, Sendable {
    /// The reserved tag key a member sets (to `drainingValue`) while it hands its replicas
    /// off before a graceful leave. Tags spread with the member's alive updates, so every
    /// node takes a draining member off its ring as soon as it learns the tag, while the
    /// member is still alive to serve the catch-up of the replicas that replace it.
    public static let drainingTag = "chorus.draining"
    /// The value of `drainingTag` that means draining; any other value means not draining.
    public static let drainingValue = "1"

    public var name: String
    public var status: MemberStatus
    /// True while the member hands its replicas off: it is live but owns nothing.
    public var draining: Bool

    public init(name: String, status: MemberStatus, draining: Bool = false) {
        self.name = name
        self.status = status
        self.draining = draining
    }

    /// The ring's view of a membership snapshot entry: its name, its status and whether its
    /// tags hold `drainingTag=drainingValue`.
    public init(_ info: Membership.MemberInfo) {
        self.init(name: info.name, status: info.status, draining: RingMember.isDraining(info.tags))
    }

    /// True if `tags` mark a member as draining.
    public static func isDraining(_ tags: Tags) -> Bool { tags[drainingTag] == drainingValue }

    public var isOnRing: Bool { status.isLive && !draining }
}
