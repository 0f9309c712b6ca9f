import ChorusBase

// When a node needs its next tick. A driver ticks the node at `nextTick` and, after every
// other input, moves a pending tick earlier when `nextTick` moved earlier: an idle node is
// then woken a few times a second instead of every `settings.tick`.
//
// The rule, in one place: while anything is in motion the next tick is one tick after the
// last; otherwise it is the earliest deadline a duty keeps, or `settings.quietTick` after the
// last tick, whichever comes first. "In motion" is anything whose progress counts ticks or
// waits for an answer: an awake group or a snapshot moving (`ShardHost.needsTicks`), a client
// request or peer call outstanding, a deferred route or chore, a parked acquire or fetch, a
// wait queued on a led shard or an edge held by the deadlock detector (reports and passes keep
// their intervals), a session drop fanning out, a queue job or entry in flight, a cache operation, load, purge or
// retransmission, or a home's transaction. Deadlines: every led shard's session leases and
// wait timeouts (exact, from the lock clocks), and the partitions' next lease or delay
// (`queueDeadline`, seen at the last tick; anything that adds an earlier one is a request,
// which is in motion until it is answered, and a tick follows it).
//
// Invariant: a tick never comes later than it would have under a fixed schedule for any
// duty that is in motion; a quiet node misses nothing but periodic chores run up to
// `settings.quietTick` late. Raft safety never depends on ticks.
extension Node {
    /// When the driver should tick this node next (never before the last input's time).
    public var nextTick: Instant {
        guard let last = lastTick else { return time.now }
        let prompt = max(last + settings.tick, time.now)
        guard !inMotion else { return prompt }
        var due = last + settings.quietTick
        for clocks in duties.leaders.values {
            if let d = clocks.leases.nextDeadline, d < due { due = d }
            if let d = clocks.waits.nextDeadline, d < due { due = d }
        }
        if let d = queueDeadline, d < due { due = d }
        return max(prompt, due)
    }

    /// True while some duty needs ticks at the regular interval (the rule above).
    var inMotion: Bool {
        host.needsTicks || !awaiting.isEmpty || calls.count > 0 || !retries.isEmpty || !choreRetries.isEmpty
            || !gathers.isEmpty || inbound > 0 || viewStale || !peersUndelivered.isEmpty
            || !duties.parked.isEmpty || !duties.fanouts.isEmpty || duties.detector?.holdsEdges == true
            || duties.leaders.values.contains { $0.waits.nextDeadline != nil }
            || !queueDuties.jobs.isEmpty || !queueDuties.waiting.isEmpty || !queueDuties.ticking.isEmpty
            || !queueDuties.moving.isEmpty || !queueDuties.redrives.isEmpty
            || cacheDuties.inMotion
    }
}

extension CacheDuties {
    /// An operation, load, purge or delivery outstanding, a request to a home awaiting its
    /// answer, or a home's transaction counting time.
    var inMotion: Bool {
        !ops.isEmpty || !reloads.isEmpty || !purging.isEmpty || !loopback.isEmpty || controller.awaitsHomes
            || homes.values.contains { $0.needsTicks }
    }
}
