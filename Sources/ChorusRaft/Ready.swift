/// What the driver must do for a `RaftNode`, in this order — the one place the
/// persistence order is written down (etcd's Ready; Raft Figure 2 "respond to RPCs only
/// after updating stable storage"):
///
/// 1. `snapshot`: persist it (SnapshotStore.save, then the log's snapshot mark) and discard
///    every stored entry of the group; then restore the state machine from it.
/// 2. `entries`: persist them. The first one's index may be at or below entries already
///    stored: everything stored from that index on is replaced (a log conflict).
/// 3. `hardState`: persist it (term, vote, commit). Steps 1–3 may share one fsync, which
///    must complete before step 4.
/// 4. `messages`: send them. Only now: a vote, an acknowledgement or an AppendEntries
///    describes state that must survive a crash. `earlyMessages` may leave sooner: at any
///    time after `ready()` returned, before or while steps 1–3 are persisted.
/// 5. `committedEntries`: apply them in order (they are durable by step 2 at the latest).
/// 6. `readStates`: serve each read once the applied index reaches its `index`.
/// 7. Call `RaftNode.advance(_:)` with this `Ready`. Only then may `ready()` be called again.
///
/// A crash anywhere in between is safe: what was not persisted was never announced, except
/// the leader's own new entries in `earlyMessages`, which it counts only after `advance`.
/// Invariant: every field describes state the node produced since the previous `Ready`;
/// every message is in exactly one of `messages` and `earlyMessages`.
public struct Ready: Sendable {
    public var snapshot: Snapshot?
    public var entries: [Entry] = []
    public var hardState: HardState?
    public var messages: [Message] = []
    /// A leader's AppendEntries, heartbeats and snapshots that need not wait for steps 1–3
    /// (Raft dissertation §10.2.1: the leader writes its log in parallel with replicating
    /// it, and counts itself toward a commit only once `advance` says its entries are
    /// durable). Only messages of a term whose HardState (term and vote) an earlier
    /// `Ready` already persisted are here: a leader elected since the last `advance` — a
    /// single voter elects itself within one step — sends nothing before that fsync,
    /// because after a crash it could lead the same term again with other entries.
    public var earlyMessages: [Message] = []
    public var committedEntries: [Entry] = []
    public var readStates: [ReadState] = []

    public init() {}

    public var isEmpty: Bool {
        snapshot == nil && entries.isEmpty && hardState == nil && messages.isEmpty && earlyMessages.isEmpty
            && committedEntries.isEmpty && readStates.isEmpty
    }
}

/// What a node restarts from: exactly what its driver persisted through `Ready`s.
///
/// `entries` may start at or below the snapshot's index (those are ignored). If they hold an
/// entry at the snapshot's index with a different term, the snapshot came from a leader and
/// replaced that history: every entry after it is dropped too. That is what a driver finds
/// after a crash between saving such a snapshot and syncing the log's truncation.
/// Invariant: the node keeps only entries that continue the snapshot without gaps and with
/// non-decreasing terms, from the first gap on nothing.
public struct PersistedState: Sendable {
    public var hardState: HardState
    public var snapshot: Snapshot
    public var entries: [Entry]

    public init(hardState: HardState, snapshot: Snapshot, entries: [Entry]) {
        self.hardState = hardState; self.snapshot = snapshot; self.entries = entries
    }

    /// A new member: `configuration` is the group's initial membership for the founding
    /// members, or `.empty` for a node that will be added later (it learns the membership
    /// from the leader's log or snapshot).
    public static func bootstrap(_ configuration: Configuration) -> PersistedState {
        PersistedState(hardState: .initial, snapshot: .bootstrap(configuration), entries: [])
    }
}
