/// A linearizability checker for histories of a key-value register: Wing & Gong's search
/// with Lowe's memoization of (linearized set, state), as in Porcupine, after partitioning
/// the history by key (a history is linearizable iff each key's sub-history is — registers
/// on different keys are independent, P-compositionality).
///
/// Shared by the Raft simulation tests and the process-level chaos test (Tests/ChorusProcessTests).
///
/// Operations with an unknown outcome (a write whose answer never came) stay open until
/// the end of time: they may be linearized anywhere after their call, or not at all.
public enum Linearizability {
    public enum Verdict: Equatable, Sendable {
        case linearizable
        /// The sub-history of `key` has no linearization.
        case violation(key: String)
        /// The search gave up after its step budget.
        case undecided(key: String)
    }

    public static func check(_ history: [KVOperation], stepBudget: Int = 5_000_000) -> Verdict {
        let ops = history.filter { op in
            !op.discarded && !(op.kind == .get && op.returned == .max)
        }
        var byKey: [String: [KVOperation]] = [:]
        for op in ops { byKey[op.key, default: []].append(op) }
        for key in byKey.keys.sorted() {
            switch checkRegister(byKey[key] ?? [], stepBudget: stepBudget) {
            case true?: continue
            case false?: return .violation(key: key)
            case nil: return .undecided(key: key)
            }
        }
        return .linearizable
    }

    /// One register. True/false, or nil when the budget ran out.
    public static func checkRegister(_ ops: [KVOperation], stepBudget: Int) -> Bool? {
        let n = ops.count
        guard n > 0 else { return true }
        // Events: call of op i is node i, its return is node n + i; head sentinel is 2n.
        var events: [(time: Int64, isReturn: Bool, op: Int)] = []
        for (i, op) in ops.enumerated() {
            events.append((op.call, false, i))
            events.append((op.returned, true, i))
        }
        // At equal times calls come first: touching operations count as concurrent.
        events.sort { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.isReturn != b.isReturn { return !a.isReturn }
            return a.op < b.op
        }
        let head = 2 * n
        var next = [Int](repeating: -1, count: 2 * n + 1)
        var prev = [Int](repeating: -1, count: 2 * n + 1)
        var last = head
        for e in events {
            let node = e.isReturn ? n + e.op : e.op
            next[last] = node
            prev[node] = last
            last = node
        }

        func lift(_ call: Int) {
            for node in [call, call + n] {
                next[prev[node]] = next[node]
                if next[node] >= 0 { prev[next[node]] = prev[node] }
            }
        }
        func unlift(_ call: Int) {
            for node in [call + n, call] {
                next[prev[node]] = node
                if next[node] >= 0 { prev[next[node]] = node }
            }
        }

        struct Memo: Hashable { var linearized: [UInt64]; var state: String? }
        var linearized = [UInt64](repeating: 0, count: (n + 63) / 64)
        var state: String? = nil
        var seen = Set<Memo>()
        var stack: [(call: Int, state: String?)] = []
        var entry = next[head]
        var steps = 0
        while next[head] >= 0 {
            steps += 1
            if steps > stepBudget { return nil }
            if entry < n {
                // A call: try to linearize the operation here.
                let op = ops[entry]
                var newState = state
                var legal = true
                switch op.kind {
                case let .put(v): newState = v
                case .get: legal = op.output == state
                }
                if legal {
                    var bits = linearized
                    bits[entry / 64] |= 1 << UInt64(entry % 64)
                    if seen.insert(Memo(linearized: bits, state: newState)).inserted {
                        stack.append((entry, state))
                        state = newState
                        linearized = bits
                        lift(entry)
                        entry = next[head]
                        continue
                    }
                }
                entry = next[entry]
            } else {
                // A return whose operation is not linearized yet: undo the last choice.
                guard let (call, previous) = stack.popLast() else { return false }
                state = previous
                linearized[call / 64] &= ~(1 << UInt64(call % 64))
                unlift(call)
                entry = next[call]
            }
        }
        return true
    }
}
