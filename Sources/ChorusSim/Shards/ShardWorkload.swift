import ChorusShards

/// A client workload plugged into a `ShardSimulation` beside (or instead of) its key-value
/// writes: it sees every drive of every node (to act as the node's driver for its own
/// machine events and leadership changes), the replies to the proposals it made, and the
/// timers it set. It runs inside the simulation's event loop and must draw every random
/// choice from a seeded stream, never from a `Set`/`Dictionary` order.
public protocol ShardWorkload: AnyObject {
    /// Node `node` was just driven (after a tick, a delivery, or a proposal): its host's
    /// replies were settled; its events and leadership changes wait in the host.
    func driven(_ node: Int)
    /// A reply to a proposal whose token the workload took from the simulation.
    func settle(_ reply: ShardReply)
    /// A timer the workload set fired.
    func fire(_ tag: Int)
}
