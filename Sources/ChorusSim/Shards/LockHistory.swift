import ChorusLocks

/// Every lock grant a simulated run revealed, and the safety rules the grants must obey. The
/// truth is the log: a grant is `(name, session, mode, token)`, where the token is the Raft
/// index of the entry that made it, and it is known to be held after applying index `i`
/// whenever some replica that had applied exactly through `i` listed it among the holders
/// (`observe`), or `i` is its own token (a grant reply or notification: held right after its
/// entry). Since every replica of a shard applies the same log, these facts from all
/// replicas and all clients share one time axis per shard: the log index.
///
/// Rules checked (a breach is a `violation`):
/// 1. Mutual exclusion in log time: two grants of one name whose modes are not both shared
///    never overlap — a grant with token `t` is never seen held at an index `≥ t'` when an
///    incompatible grant has token `t'` with `t < t' ≤` that index.
/// 2. One entry, one grant: two grants of a name may share a token only if both are shared
///    (one entry promoting several readers).
/// 3. Tokens strictly increase in apply order: a holder that appears on a replica between
///    two looks at applied indices `p` and `a` has a token in `(p, a]`.
/// 4. Each replica's table, at every look: an exclusive holder is alone, no session holds a
///    name twice, no session known dead holds anything.
/// 5. Each client sees its own grants of a name with strictly increasing tokens.
///
/// Invariant: `grants[name]` is sorted by `(token, session, mode)` without duplicates; no
/// decision or message follows a `Set`/`Dictionary` order.
final class LockHistory {
    struct Grant: Hashable, Comparable, CustomStringConvertible {
        var name: LockName
        var session: SessionID
        var mode: LockMode
        var token: FencingToken

        init(_ h: LockHolder) { name = h.name; session = h.session; mode = h.mode; token = h.token }
        init(name: LockName, session: SessionID, mode: LockMode, token: FencingToken) {
            self.name = name; self.session = session; self.mode = mode; self.token = token
        }

        static func < (a: Grant, b: Grant) -> Bool {
            if a.token != b.token { return a.token < b.token }
            if a.session != b.session { return a.session < b.session }
            return a.mode < b.mode
        }

        /// Whether the two grants may never be held at once.
        func conflicts(with other: Grant) -> Bool { self != other && !(mode == .shared && other.mode == .shared) }

        var description: String { "\(session) \(mode) #\(token)" }
    }

    struct Record {
        var grant: Grant
        /// The highest applied index at which the grant was seen held.
        var maxHeldAt: UInt64
    }

    /// One replica as last looked at: node, the node's generation (a restart is a new
    /// replica), shard.
    struct ReplicaKey: Hashable {
        var node: Int
        var generation: Int
        var shard: UInt32
    }

    struct Look {
        var applied: UInt64
        var holders: Set<Grant>
    }

    struct Holding: Hashable {
        var name: LockName
        var session: SessionID
    }

    private var grants: [LockName: [Record]] = [:]
    private var looks: [ReplicaKey: Look] = [:]
    /// The last grant each client accepted, per (session, name).
    private var accepted: [Holding: FencingToken] = [:]
    private(set) var violations: [String] = []
    private(set) var violationCount = 0
    private(set) var distinctGrants = 0
    private(set) var clientGrants = 0
    private(set) var replicaLooks = 0
    private(set) var maxToken: UInt64 = 0

    func violation(_ text: String) {
        violationCount += 1
        if violations.count < 40 { violations.append(text) }
    }

    // MARK: facts

    /// `g` was held right after applying index `index` on some replica of its shard.
    func held(_ g: Grant, at index: UInt64, source: String) {
        maxToken = max(maxToken, g.token.value)
        var list = grants[g.name] ?? []
        let pos = lowerBound(list, g)
        if pos < list.count && list[pos].grant == g {
            let before = list[pos].maxHeldAt
            guard index > before else { return }
            list[pos].maxHeldAt = index
            // Grants made in (before, index] while `g` was still held.
            var k = pos + 1
            while k < list.count && list[k].grant.token.value <= index {
                if list[k].grant.token.value > before, g.conflicts(with: list[k].grant) {
                    violation("\(g.name): \(g) held at index \(index) (\(source)) after \(list[k].grant) was granted")
                }
                k += 1
            }
        } else {
            distinctGrants += 1
            let record = Record(grant: g, maxHeldAt: max(index, g.token.value))
            list.insert(record, at: pos)
            for (k, other) in list.enumerated() where k != pos {
                let h = other.grant
                if h.token == g.token {
                    if !(h.mode == .shared && g.mode == .shared && h.session != g.session) {
                        violation("\(g.name): two grants by entry \(g.token): \(h) and \(g) (\(source))")
                    }
                } else if h.token < g.token {
                    if other.maxHeldAt >= g.token.value, h.conflicts(with: g) {
                        violation("\(g.name): \(g) granted (\(source)) while \(h) was held (seen at index \(other.maxHeldAt))")
                    }
                } else if h.token.value <= record.maxHeldAt, g.conflicts(with: h) {
                    violation("\(g.name): \(g) held at index \(record.maxHeldAt) (\(source)) after \(h) was granted")
                }
            }
        }
        grants[g.name] = list
    }

    /// A client was told of a grant (a reply or a notification) and now acts on it.
    func clientAccepted(_ g: Grant, client: Int) {
        clientGrants += 1
        held(g, at: g.token.value, source: "client \(client)")
        let key = Holding(name: g.name, session: g.session)
        if let last = accepted[key], g.token <= last {
            violation("\(g.name): client \(client) accepted token \(g.token) after token \(last)")
        }
        accepted[key] = g.token
    }

    /// Looks at one replica's table, applied through `applied` (rules 3 and 4, and the
    /// holders as facts for rules 1 and 2).
    func look(at key: ReplicaKey, applied: UInt64, table: LockTable, node: String) {
        replicaLooks += 1
        let previous = looks[key].flatMap { $0.applied <= applied ? $0 : nil }
        var current = Set<Grant>()
        for name in table.names() {
            let holders = table.holders(of: name)
            if holders.count > 1, holders.contains(where: { $0.mode == .exclusive }) {
                violation("\(name) on \(node) shard \(key.shard) at \(applied): exclusive holder with others \(holders.map(\.session))")
            }
            if Set(holders.map(\.session)).count != holders.count {
                violation("\(name) on \(node) shard \(key.shard) at \(applied): a session holds it twice")
            }
            for h in holders {
                let g = Grant(h)
                current.insert(g)
                if table.isDead(h.session) {
                    violation("\(name) on \(node) shard \(key.shard) at \(applied): held by dead session \(h.session)")
                }
                if h.token.value > applied {
                    violation("\(name) on \(node) shard \(key.shard): token \(h.token) beyond applied index \(applied)")
                }
                if let p = previous, !p.holders.contains(g), h.token.value <= p.applied {
                    violation("\(name) on \(node) shard \(key.shard): \(g) appeared between indices \(p.applied) and \(applied)")
                }
                held(g, at: applied, source: "\(node) shard \(key.shard)")
            }
        }
        looks[key] = Look(applied: applied, holders: current)
    }

    // MARK: queries

    /// The applied index of the replica's last look, if any.
    func lastLook(_ key: ReplicaKey) -> UInt64? { looks[key]?.applied }

    /// Grants of `name` in token order.
    func grants(of name: LockName) -> [Grant] { (grants[name] ?? []).map(\.grant) }

    /// A fingerprint of the whole grant history (for determinism tests): names in byte
    /// order, grants in token order.
    func digest() -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) { for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
        for name in grants.keys.sorted() {
            mix(name.text)
            for r in grants[name] ?? [] { mix("\(r.grant)@\(r.maxHeldAt);") }
        }
        return h
    }

    private func lowerBound(_ list: [Record], _ g: Grant) -> Int {
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid].grant < g { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
