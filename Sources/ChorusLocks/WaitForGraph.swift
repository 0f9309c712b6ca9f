/// The wait-for graph between sessions, and its cycles as strongly connected components
/// (Tarjan 1972), computed without recursion so that a chain of any length cannot overflow
/// the stack.
///
/// Invariant: nodes are sorted sessions and adjacency lists sorted and duplicate-free, so the
/// components — and everything chosen from them — follow from the edges alone, never from
/// hash or arrival order. Self-edges are ignored (a table never reports one).
struct WaitForGraph {
    let nodes: [SessionID]
    private let adjacency: [[Int]]

    init(edges: [(waiter: SessionID, blocker: SessionID)]) {
        let nodes = Array(Set(edges.flatMap { [$0.waiter, $0.blocker] })).sorted()
        var slot: [SessionID: Int] = [:]
        for (i, s) in nodes.enumerated() { slot[s] = i }
        var adjacency = [[Int]](repeating: [], count: nodes.count)
        for e in edges where e.waiter != e.blocker {
            if let from = slot[e.waiter], let to = slot[e.blocker] { adjacency[from].append(to) }
        }
        self.nodes = nodes
        self.adjacency = adjacency.map { Array(Set($0)).sorted() }
    }

    /// Every strongly connected component with at least two sessions (each holds a cycle, and
    /// every session in it lies on one), as sorted node lists.
    func cycles() -> [[SessionID]] {
        let n = nodes.count
        var order = [Int](repeating: -1, count: n), low = [Int](repeating: 0, count: n)
        var onStack = [Bool](repeating: false, count: n)
        var stack: [Int] = [], found: [[SessionID]] = []
        var counter = 0
        for root in 0..<n where order[root] < 0 {
            var calls: [(node: Int, next: Int)] = [(root, 0)]
            order[root] = counter; low[root] = counter; counter += 1
            stack.append(root); onStack[root] = true
            while let (u, i) = calls.last {
                if i < adjacency[u].count {
                    calls[calls.count - 1].next = i + 1
                    let w = adjacency[u][i]
                    if order[w] < 0 {
                        order[w] = counter; low[w] = counter; counter += 1
                        stack.append(w); onStack[w] = true
                        calls.append((w, 0))
                    } else if onStack[w] {
                        low[u] = min(low[u], order[w])
                    }
                    continue
                }
                calls.removeLast()
                if let parent = calls.last?.node { low[parent] = min(low[parent], low[u]) }
                guard low[u] == order[u] else { continue }
                var component: [Int] = []
                while let v = stack.popLast() {
                    onStack[v] = false
                    component.append(v)
                    if v == u { break }
                }
                if component.count > 1 { found.append(component.sorted().map { nodes[$0] }) }
            }
        }
        return found
    }
}
