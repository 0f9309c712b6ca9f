import ChorusMembership

/// The consistent-hash ring of one membership view (Karger et al. 1997; Chord, Stoica et al.
/// 2001, §IV-B and §V-B for virtual nodes; Dynamo, DeCandia et al. 2007, §4.2).
///
/// Every member that is alive or suspect and not draining owns `virtualNodesPerMember` points
/// on a circle of 2^64 tokens. A key belongs to the first virtual node at or clockwise after
/// its token; its successor list is the first R distinct members found walking on clockwise.
///
/// Invariants:
/// - `members` is sorted by the UTF-8 bytes of the names and has no duplicates; it holds
///   exactly the names of the view's alive and suspect members that are not draining.
/// - The ring is a pure function of (the set of members on the ring, `virtualNodesPerMember`):
///   input order, duplicates, other fields, the process and its hash seed change nothing, so
///   two nodes with the same view hold byte-identical rings (`digest` pins this).
/// - Virtual nodes are sorted by (token, member name bytes, index); equal tokens are thus
///   broken by name, and the first of them owns the keys up to that token.
public struct Ring: Sendable, Equatable {
    /// Points each member owns (V). All nodes of a cluster must use the same V.
    public let virtualNodesPerMember: Int
    /// Names of the members on the ring, sorted by UTF-8 bytes.
    public let members: [String]
    /// Virtual node tokens in ring order.
    let tokens: [UInt64]
    /// For each entry of `tokens`: `member index · V + virtual node index`. One array of
    /// 4-byte slots instead of two keeps a virtual node at 12 bytes.
    let slots: [UInt32]

    /// The ring of a membership view: members with status alive or suspect are on it unless
    /// they are draining; draining, dead and left members are not.
    public init(members view: [RingMember], virtualNodesPerMember: Int = PlacementSettings.defaultVirtualNodesPerMember) {
        precondition(PlacementSettings.virtualNodeLimit.contains(virtualNodesPerMember),
                     "virtualNodesPerMember must be in \(PlacementSettings.virtualNodeLimit), got \(virtualNodesPerMember)")
        var names = view.filter(\.isOnRing).map(\.name)
        names.sort(by: Ring.precedes)
        var unique: [String] = []
        unique.reserveCapacity(names.count)
        for name in names where unique.last.map({ !$0.utf8.elementsEqual(name.utf8) }) ?? true {
            unique.append(name)
        }
        self.init(sortedUniqueMembers: unique, virtualNodesPerMember: virtualNodesPerMember)
    }

    /// The ring of a membership snapshot (`Membership.members(at:)`); a member whose tags hold
    /// `RingMember.drainingTag=1` is left off like a dead one.
    public init(view: [Membership.MemberInfo], virtualNodesPerMember: Int = PlacementSettings.defaultVirtualNodesPerMember) {
        self.init(members: view.map(RingMember.init), virtualNodesPerMember: virtualNodesPerMember)
    }

    init(sortedUniqueMembers names: [String], virtualNodesPerMember v: Int) {
        let total = names.count * v
        precondition(total <= Int(UInt32.max), "ring too large: \(names.count) members × \(v) virtual nodes")
        var raw: [UInt64] = []
        raw.reserveCapacity(total)
        for name in names { Token.virtualNodes(of: name, count: v, into: &raw) }
        self.init(sortedUniqueMembers: names, virtualNodesPerMember: v, rawTokens: raw)
    }

    /// The ring of `names` whose virtual node `k` (member `k / V`, index `k % V`) sits at
    /// `raw[k]`. Separate from hashing so tests can force equal tokens.
    init(sortedUniqueMembers names: [String], virtualNodesPerMember v: Int, rawTokens raw: [UInt64]) {
        let total = names.count * v
        precondition(raw.count == total, "need \(total) tokens, got \(raw.count)")
        // Slot k = member · V + index grows with (name bytes, index), so sorting by
        // (token, slot) is the documented tie-break, and the order is total.
        var entries = [(token: UInt64, slot: UInt32)]()
        entries.reserveCapacity(total)
        for k in 0..<total { entries.append((raw[k], UInt32(k))) }
        entries.sort { $0.token != $1.token ? $0.token < $1.token : $0.slot < $1.slot }
        self.virtualNodesPerMember = v
        self.members = names
        self.tokens = entries.map(\.token)
        self.slots = entries.map(\.slot)
    }

    /// The order of member names on the ring: by UTF-8 bytes, which every platform and
    /// Swift version agrees on (String's `<` follows Unicode canonical equivalence).
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// True when no member is on the ring.
    public var isEmpty: Bool { members.isEmpty }
    /// Number of virtual nodes (members × V).
    public var count: Int { tokens.count }

    /// The virtual nodes in ring order (materialized; for display and tests).
    public var virtualNodes: [VirtualNode] {
        (0..<tokens.count).map { i in
            let (m, index) = Int(slots[i]).quotientAndRemainder(dividingBy: virtualNodesPerMember)
            return VirtualNode(token: Token(tokens[i]), member: members[m], index: index)
        }
    }

    /// The position in `members` of `name`, if it is on the ring. O(log N).
    public func index(of name: String) -> Int? {
        var lo = 0, hi = members.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Ring.precedes(members[mid], name) { lo = mid + 1 } else { hi = mid }
        }
        return lo < members.count && members[lo].utf8.elementsEqual(name.utf8) ? lo : nil
    }

    /// True if `name` is on the ring.
    public func contains(_ name: String) -> Bool { index(of: name) != nil }

    /// Position in ring order of the first virtual node at or clockwise after `token`
    /// (wrapping to 0 past the largest). The ring must not be empty. O(log(N·V)).
    @inline(__always) func position(of token: Token) -> Int {
        tokens.withUnsafeBufferPointer { t in
            var lo = 0, len = t.count
            while len > 0 {
                let half = len / 2
                if t[lo + half] < token.value {
                    lo += half + 1
                    len -= half + 1
                } else {
                    len = half
                }
            }
            return lo == t.count ? 0 : lo
        }
    }

    @inline(__always) func memberIndex(at position: Int) -> Int {
        Int(slots[position]) / virtualNodesPerMember
    }

    /// The position in `members` of the owner of `token`: the member of the first virtual
    /// node at or clockwise after it. Nil on an empty ring. O(log(N·V)).
    public func ownerIndex(of token: Token) -> Int? {
        guard !tokens.isEmpty else { return nil }
        return memberIndex(at: position(of: token))
    }

    /// The member that owns `token` (a key's home). Nil on an empty ring.
    public func owner(of token: Token) -> String? {
        ownerIndex(of: token).map { members[$0] }
    }

    /// Positions in `members` of the first `count` distinct members clockwise from `token`,
    /// the owner first. Fewer when fewer members are on the ring.
    public func successorIndices(of token: Token, count: Int) -> [Int] {
        precondition(count >= 0, "successor count must not be negative, got \(count)")
        let wanted = Swift.min(count, members.count)
        guard wanted > 0 else { return [] }
        var out: [Int] = []
        out.reserveCapacity(wanted)
        // A short list is searched directly; a long one gets a membership bitmap so a walk
        // over the whole ring stays O(N·V).
        var seen = wanted > 8 ? [Bool](repeating: false, count: members.count) : []
        var p = position(of: token)
        // Terminates: every member has at least one virtual node and wanted <= members.count.
        while out.count < wanted {
            let m = memberIndex(at: p)
            if seen.isEmpty {
                if !out.contains(m) { out.append(m) }
            } else if !seen[m] {
                seen[m] = true
                out.append(m)
            }
            p += 1
            if p == tokens.count { p = 0 }
        }
        return out
    }

    /// The successor list of `token`: the first `count` distinct members clockwise, the
    /// owner first. Fewer when fewer members are on the ring.
    public func successors(of token: Token, count: Int) -> [String] {
        successorIndices(of: token, count: count).map { members[$0] }
    }
}
