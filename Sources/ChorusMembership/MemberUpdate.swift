import ChorusBase

/// One piece of gossip: what a node believes about one member. The same record travels
/// piggybacked on datagrams and, in bulk, in push-pull state syncs.
/// Invariant: `accusers` is non-empty only for `suspect` and holds distinct names.
public struct MemberUpdate: Hashable, Sendable {
    public var name: String
    public var address: Endpoint
    public var incarnation: Incarnation
    public var status: MemberStatus
    public var tags: Tags
    /// For `suspect`: the members that independently suspect it (Lifeguard §IV.B), bounded.
    public var accusers: [String]

    public init(name: String, address: Endpoint, incarnation: Incarnation, status: MemberStatus,
                tags: Tags = Tags(), accusers: [String] = []) {
        self.name = name
        self.address = address
        self.incarnation = incarnation
        self.status = status
        self.tags = tags
        self.accusers = accusers
    }
}
