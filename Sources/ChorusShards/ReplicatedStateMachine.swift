import ChorusRaft

/// The application state a shard's Raft group replicates: commands in log order, nothing else.
///
/// Invariant the conforming type must keep: `apply` is deterministic — the same commands at the
/// same indices give the same replies and the same state on every replica, and
/// `init(image:)` of `image()` is indistinguishable from the state it was taken from. No
/// clock, randomness or `Set`/`Dictionary` iteration order may influence either.
public protocol ReplicatedStateMachine: Sendable {
    /// The state before the first command.
    init()
    /// Restores the state `image()` wrote; throws on bytes it cannot read (never traps).
    init(image: [UInt8]) throws
    /// Applies one committed command and returns the reply for whoever proposed it.
    /// A command the machine cannot read is answered with an error reply, never a trap.
    mutating func apply(_ command: [UInt8], at index: LogIndex) -> [UInt8]
    /// The whole state as bytes (a snapshot image).
    func image() -> [UInt8]
}
