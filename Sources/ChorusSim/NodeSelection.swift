import ChorusBase

/// Which nodes a scenario action applies to: listed ids, or a fraction chosen at run time.
///
/// Invariant (checked by `Scenario.validate()`): listed ids are in range and distinct, and a
/// fraction lies in `[0, 1]`. `resolve` is deterministic: the same candidates and generator
/// state choose the same nodes.
public enum NodeSelection: Sendable, Equatable {
    case nodes([SimNodeID])
    case fraction(Double)

    /// The nodes to act on. A list is returned as written (the driver decides what, say,
    /// crashing a crashed node means). A fraction picks `round(fraction · candidates.count)`
    /// of `candidates` uniformly with `rng` (partial Fisher–Yates), returned in ascending order;
    /// `candidates` must be in a deterministic order, e.g. the live nodes sorted by id.
    public func resolve(among candidates: [SimNodeID], using rng: inout SeededRandom) -> [SimNodeID] {
        switch self {
        case .nodes(let listed):
            return listed
        case .fraction(let fraction):
            var pool = candidates
            let count = Swift.min(pool.count, Swift.max(0, Int((fraction * Double(pool.count)).rounded())))
            for i in 0..<count {
                pool.swapAt(i, i + rng.below(pool.count - i))
            }
            return pool.prefix(count).sorted()
        }
    }
}
