/// Where a member stands in SWIM's life cycle. The raw value is the status's rank in the
/// precedence order: for one incarnation, `left` > `dead` > `suspect` > `alive`.
public enum MemberStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case alive = 0
    case suspect = 1
    case dead = 2
    case left = 3

    public var description: String {
        switch self {
        case .alive: return "alive"
        case .suspect: return "suspect"
        case .dead: return "dead"
        case .left: return "left"
        }
    }

    public init?(name: String) {
        switch name {
        case "alive": self = .alive
        case "suspect": self = .suspect
        case "dead": self = .dead
        case "left": self = .left
        default: return nil
        }
    }

    /// Alive and suspect members take part in the protocol and in placement.
    public var isLive: Bool { self == .alive || self == .suspect }
}

/// A member's incarnation number: only the member itself raises it, to refute a suspicion
/// or to announce that it left. Precedence rules compare `(incarnation, status rank)`.
/// It never wraps: raising saturates at `UInt32.max` (`raised(_:)`), and an accusation at
/// `UInt32.max` is refused (`isAcceptable`), since no refutation could outrank it.
public typealias Incarnation = UInt32

/// The incarnation one above `i`, saturating at the largest: a wrap to 0 would make a
/// member's every later word lose against what was said of it before.
@inline(__always)
func raised(_ i: Incarnation) -> Incarnation { i == .max ? .max : i + 1 }

/// Whether an update can be taken in: `alive` at any incarnation, an accusation (`suspect`,
/// `dead`, `left`) only below the largest, so the member can always answer it with
/// `alive(i + 1)`. (Its own `left` at the largest incarnation is refused too: a member that
/// used four billion incarnations leaves by being found dead.)
@inline(__always)
func isAcceptable(_ u: MemberUpdate) -> Bool { u.status == .alive || u.incarnation < .max }

/// SWIM's precedence rule (SWIM §4.2, with `left` ranked above `dead`): an update about a
/// member supersedes what we hold when its incarnation is higher, or equal with a higher
/// status rank. Equal pairs never supersede, so re-delivered gossip changes nothing.
@inlinable
public func supersedes(_ incoming: (Incarnation, MemberStatus), _ held: (Incarnation, MemberStatus)) -> Bool {
    if incoming.0 != held.0 { return incoming.0 > held.0 }
    return incoming.1.rawValue > held.1.rawValue
}
