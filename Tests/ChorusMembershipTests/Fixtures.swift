import ChorusBase
@testable import ChorusMembership

/// Single-node fixtures: a node fed packets by hand, so a test can look at exactly what
/// one input makes it do.
enum Fixture {
    static func address(_ i: Int) -> Endpoint { TestNetwork.address(i) }

    /// A node called `name` that learned `names` alive from a sync (member k at address 100 + k).
    static func node(_ name: String = "a", knowing names: [String], settings: MembershipSettings = MembershipSettings(),
                     incarnation: Incarnation = 0) throws -> Membership {
        var m = try Membership(name: name, address: address(1), incarnation: incarnation, settings: settings, seed: 11, now: .zero)
        var out: [MembershipEffect] = []
        let members = names.enumerated().map { MemberUpdate(name: $0.element, address: address(100 + $0.offset), incarnation: 0, status: .alive) }
        m.receive(Packet(cluster: settings.cluster, sender: names.first ?? "x", message: .pushPull(PushPull(isJoin: false, isResponse: true, members: members))),
                  from: address(100), at: .zero, into: &out)
        return m
    }

    /// A gossip datagram from `sender` carrying `updates`.
    static func gossip(_ updates: [MemberUpdate], from sender: String = "b", settings: MembershipSettings = MembershipSettings()) -> Packet {
        Packet(cluster: settings.cluster, sender: sender, message: .gossip, updates: updates)
    }

    static func update(_ name: String, _ status: MemberStatus, _ incarnation: Incarnation, at a: Endpoint = address(100),
                       tags: Tags = Tags(), accusers: [String] = []) -> MemberUpdate {
        MemberUpdate(name: name, address: a, incarnation: incarnation, status: status, tags: tags, accusers: accusers)
    }

    static func at(_ seconds: Double) -> Instant { Instant.zero + Interval(seconds: seconds) }

    /// The packets in `effects` sent by `transport`, with where they go.
    static func sends(_ effects: [MembershipEffect], via transport: Transport? = nil) -> [(Packet, Endpoint)] {
        effects.compactMap {
            guard case let .send(p, to, via) = $0, transport == nil || via == transport else { return nil }
            return (p, to)
        }
    }
}
