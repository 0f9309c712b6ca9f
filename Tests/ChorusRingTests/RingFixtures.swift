import ChorusBase
import ChorusMembership
@testable import ChorusRing

/// Views, names and keys shared by the ring tests. Everything is derived from fixed names
/// or a seeded generator, so every run sees the same rings.
enum RingFixtures {
    static func names(_ count: Int, prefix: String = "node-") -> [String] {
        (0..<count).map { "\(prefix)\($0)" }
    }

    static func alive(_ names: [String]) -> [RingMember] {
        names.map { RingMember(name: $0, status: .alive) }
    }

    /// Tokens of `count` keys named like lock names.
    static func keyTokens(_ count: Int, prefix: String = "key-") -> [Token] {
        (0..<count).map { Token(key: "\(prefix)\($0)") }
    }

    /// Owner index of every key, for comparing two rings key by key.
    static func owners(_ ring: Ring, _ keys: [Token]) -> [String?] {
        keys.map { ring.owner(of: $0) }
    }

    /// Brute-force successor list: walk the materialized virtual nodes from the first one at
    /// or after `token`. The reference the binary search is checked against.
    static func naiveSuccessors(_ ring: Ring, of token: Token, count: Int) -> [String] {
        let nodes = ring.virtualNodes
        guard !nodes.isEmpty else { return [] }
        let start = nodes.firstIndex { $0.token >= token } ?? 0
        var out: [String] = []
        for step in 0..<nodes.count where out.count < count {
            let member = nodes[(start + step) % nodes.count].member
            if !out.contains(member) { out.append(member) }
        }
        return out
    }
}
