/// The number a grant hands to its holder, to pass to the resource the lock protects so that
/// the resource can refuse a holder whose grant was superseded (Kleppmann's fencing token;
/// Chubby's sequencer).
///
/// It is the Raft index of the log entry that made the grant: the `acquire` itself, or the
/// `release`, `cancelWait`, `expireSession`, `closeSession` or `dropSession` that promoted a
/// waiter. Invariant: Raft indices only grow, across leader changes too, so the tokens of
/// successive grants of one lock name strictly increase (shared holders granted by one entry
/// share its token).
public struct FencingToken: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64

    @inlinable public init(_ value: UInt64) { self.value = value }

    @inlinable public static func < (a: FencingToken, b: FencingToken) -> Bool { a.value < b.value }
    public var description: String { "\(value)" }
}
