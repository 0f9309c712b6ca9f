/// A directed link between two simulated nodes, the key for per-link settings.
///
/// Invariant: direction matters: `SimLink(from: a, to: b)` and `SimLink(from: b, to: a)` are
/// different links, because real paths are often asymmetric.
public struct SimLink: Hashable, Sendable, CustomStringConvertible {
    public var from: SimNodeID
    public var to: SimNodeID

    @inlinable public init(from: SimNodeID, to: SimNodeID) {
        self.from = from
        self.to = to
    }

    public var description: String { "\(from)→\(to)" }
}
