/// The leader's view of one member's log (etcd's Progress).
///
/// States: `probe` — the leader does not know where the follower's log matches, sends one
/// AppendEntries at a time and waits (`probeSent`); `replicate` — the log matches at `match`,
/// the leader streams entries optimistically (`next` runs ahead of `match`) bounded by
/// `inflights`; `snapshot` — a snapshot is on its way and nothing else is sent.
///
/// Invariants: `match < next`; `match` never decreases while one leader term lasts; in
/// `replicate`, `inflights` holds exactly the unacknowledged messages sent since entering it.
public struct Progress: Sendable {
    /// Invariant: `snapshot(pending:)` holds the index of the snapshot last sent.
    public enum State: Hashable, Sendable {
        case probe
        case replicate
        case snapshot(pending: LogIndex)
    }

    public let id: NodeID
    public internal(set) var match: LogIndex
    public internal(set) var next: LogIndex
    public internal(set) var state: State = .probe
    /// In probe state: one message is out, wait for its answer or a heartbeat answer.
    var probeSent = false
    /// Heard from since the last check-quorum round.
    public internal(set) var recentActive = false
    var inflights: Inflights
    /// Leader ticks since a snapshot was sent, to retry one that was lost.
    var snapshotTicks = 0

    init(id: NodeID, match: LogIndex, next: LogIndex, settings: RaftSettings) {
        self.id = id
        self.match = match
        self.next = next
        self.inflights = Inflights(maxCount: settings.maxInflightMessages, maxBytes: settings.maxInflightBytes)
    }

    /// Nothing may be sent now (besides heartbeats).
    var isPaused: Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflights.isFull
        case .snapshot: return true
        }
    }

    mutating func becomeProbe() {
        if case let .snapshot(pending) = state {
            next = max(match + 1, pending + 1)
        } else {
            next = match + 1
        }
        state = .probe
        probeSent = false
        inflights.reset()
    }

    mutating func becomeReplicate() {
        next = match + 1
        state = .replicate
        probeSent = false
        inflights.reset()
    }

    mutating func becomeSnapshot(_ index: LogIndex) {
        state = .snapshot(pending: index)
        probeSent = false
        inflights.reset()
        snapshotTicks = 0
    }

    /// The follower holds our log through `index`. Returns true when `match` moved.
    mutating func acknowledge(_ index: LogIndex) -> Bool {
        var moved = false
        if match < index {
            match = index
            probeSent = false
            moved = true
        }
        next = max(next, index + 1)
        return moved
    }

    /// The follower refused `rejected` as a previous index; `probeAt` is where the leader
    /// should try next by the fast-backtracking hint. Returns false for a stale refusal.
    mutating func refuse(_ rejected: LogIndex, probeAt: LogIndex) -> Bool {
        if state == .replicate {
            // Out-of-order answer to a message sent before `match` moved past it.
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        // Probing sends one message at a time; an answer for another index is stale.
        guard next - 1 == rejected else { return false }
        next = max(min(rejected, probeAt), match + 1)
        probeSent = false
        return true
    }

    /// Records an AppendEntries just sent that carried entries through `last`.
    mutating func sent(through last: LogIndex?, bytes: Int) {
        switch state {
        case .replicate:
            if let last {
                next = last + 1
                inflights.add(last, bytes: bytes)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            break
        }
    }
}
