import ChorusBase
import ChorusMembership

/// What a node restarted by a scenario comes back as. Every life of a node keeps its index
/// (and so its place in the network and the observer); what the cluster sees differs.
///
/// Invariant: life 0 of node `i` is `n<i>` at `10.0.0.<i+1>:7946` with no tags, as without
/// restarts; life `k` changes only what its case names.
public enum RestartIdentity: Sendable, Hashable {
    /// The same name, address and tags (a process restarted in place).
    case sameName
    /// The same name and address with tags `life=<k>` (a restart with a new configuration).
    case newTags
    /// The same name at port `7946 + k` (a restart on another address).
    case newAddress
    /// A new member `n<i>.<k>` at the same address (a short-lived worker replaced by a new
    /// one: churn of names).
    case newName

    /// The name of life `life` of node `node`.
    func name(_ node: Int, life: UInt32) -> String {
        switch self {
        case .newName where life > 0: return "n\(node).\(life)"
        case .sameName, .newTags, .newAddress, .newName: return "n\(node)"
        }
    }

    func address(_ node: Int, life: UInt32) -> Endpoint {
        var a = ClusterSimulation.address(node)
        if case .newAddress = self { a.port = a.port &+ UInt16(truncatingIfNeeded: life) }
        return a
    }

    func tags(life: UInt32) -> Tags {
        guard case .newTags = self, life > 0 else { return Tags() }
        return (try? Tags(["life": "\(life)"])) ?? Tags()
    }
}
