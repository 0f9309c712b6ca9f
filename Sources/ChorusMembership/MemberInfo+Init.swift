import ChorusBase

extension Membership.MemberInfo {
    /// A member as a view describes it, for drivers that build views themselves (the
    /// whole-node simulator's membership stand-in, tests).
    public init(name: String, address: Endpoint, status: MemberStatus, incarnation: Incarnation = 0, tags: Tags,
                changedAt: Instant = .zero, isLocal: Bool = false) {
        self.init(name: name, address: address, status: status, incarnation: incarnation, tags: tags, phi: 0,
                  changedAt: changedAt, isLocal: isLocal)
    }
}
