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
public typealias Incarnation = UInt32

/// SWIM's precedence rule (SWIM §4.2, with `left` ranked above `dead`): an update about a
/// member supersedes what we hold when its incarnation is higher, or equal with a higher
/// status rank. Equal pairs never supersede, so re-delivered gossip changes nothing.
@inlinable
public func supersedes(_ incoming: (Incarnation, MemberStatus), _ held: (Incarnation, MemberStatus)) -> Bool {
    if incoming.0 != held.0 { return incoming.0 > held.0 }
    return incoming.1.rawValue > held.1.rawValue
}
