/// A count per `MessageKind` in plain stored fields: every packet sent or received bumps
/// one, and a `Dictionary` made each bump a hash and a uniqueness check.
/// Invariant: counts never go down (so "kind seen" ⇔ its count is above zero).
struct MessageCounts: Sendable {
    private var ping = 0, pingReq = 0, ack = 0, nack = 0, gossip = 0, pushPull = 0, join = 0

    init() {}

    init(_ dictionary: [MessageKind: Int]) {
        for (kind, n) in dictionary { self[kind] = n }
    }

    subscript(kind: MessageKind) -> Int {
        get {
            switch kind {
            case .ping: return ping
            case .pingReq: return pingReq
            case .ack: return ack
            case .nack: return nack
            case .gossip: return gossip
            case .pushPull: return pushPull
            case .join: return join
            }
        }
        set {
            switch kind {
            case .ping: ping = newValue
            case .pingReq: pingReq = newValue
            case .ack: ack = newValue
            case .nack: nack = newValue
            case .gossip: gossip = newValue
            case .pushPull: pushPull = newValue
            case .join: join = newValue
            }
        }
    }

    /// The kinds counted so far and their counts, as the public counters show them.
    var dictionary: [MessageKind: Int] {
        var d: [MessageKind: Int] = [:]
        for kind in MessageKind.allCases where self[kind] > 0 { d[kind] = self[kind] }
        return d
    }
}
