/// One of a member's points on the ring. Keys whose tokens fall in the arc that ends at this
/// point (from the previous virtual node, exclusive, to this token, inclusive) belong to
/// `member`.
///
/// Invariant: `token == Token.virtualNode(of: member, index: index)` and
/// `0 <= index < virtualNodesPerMember` of the ring it came from.
public struct VirtualNode: Hashable, Sendable, CustomStringConvertible {
    public var token: Token
    public var member: String
    public var index: Int

    public init(token: Token, member: String, index: Int) {
        self.token = token
        self.member = member
        self.index = index
    }

    public var description: String { "\(token) \(member)#\(index)" }
}
