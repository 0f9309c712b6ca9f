import ChorusBase

/// Finds deadlocks in the global wait-for graph between sessions, which spans shards, and
/// names one victim per cycle: the wait of the cycle's session that opened last by log
/// position (greatest `(index, home)`, `SessionID.opensBefore`) — never by the wall clocks of
/// the leaders that opened them, which need not agree. Runs on the leader of one designated shard (as TiKV's detector runs on the
/// leader of the first region); its state is soft — after failover the new detector starts
/// empty and the shards' next reports rebuild it.
///
/// Each shard leader `report`s its whole `LockTable.waitEdges()`, replacing what it sent
/// before; the driver calls `detect(at:)` every `settings.detectionInterval`.
///
/// Phantom cycles. The union of reports taken at different moments can show a cycle that
/// never existed at any one moment: shard 1's report still shows A waiting for B after A
/// was granted, while shard 2's newer report shows B waiting for A. A cycle whose edges all
/// come from one shard's report is real (one report is one consistent table state) and is
/// acted on at once. A cycle spanning shards is first held as a candidate: the detector bumps
/// its `epoch` and asks the shards involved (`DetectionRound.refresh`) for a report echoing
/// it. Such a report was built after the detector saw the cycle, hence after every wait in
/// it began — and after any grant or release that causally preceded those waits. A cycle
/// still present when every shard involved has reported with the new epoch is acted on. A
/// real deadlock persists until broken, so confirmation only costs one round trip.
///
/// Invariants: at most one victim per strongly connected set of sessions per pass; a
/// session in no cycle is never a victim; a victim is not named again for
/// `settings.victimRetry` and its wait's edges are ignored meanwhile (so the same cycle does
/// not claim a second victim while the first cancel is on its way); reports older than
/// `settings.staleness` are ignored; every output is sorted.
public struct DeadlockDetector: Sendable {
    struct Report: Sendable {
        var edges: [WaitEdge]
        var epoch: UInt64
        var at: Instant
    }

    public let settings: DetectorSettings
    /// The current confirmation epoch; starts at `firstEpoch`.
    public private(set) var epoch: UInt64
    private var reports: [UInt16: Report] = [:]
    /// Cross-shard cycles awaiting confirmation, by the victim they would claim: the epoch
    /// every shard involved must echo.
    private var candidates: [DeadlockVictim: UInt64] = [:]
    /// Victims named, and when.
    private var named: [DeadlockVictim: Instant] = [:]

    /// `firstEpoch` must exceed every epoch an earlier detector handed out, so that a shard
    /// echoing an old detector's epoch cannot confirm a new detector's candidate: pass the
    /// designated shard's Raft term shifted left by 32 bits, for example.
    public init(settings: DetectorSettings = DetectorSettings(), firstEpoch: UInt64 = 0) throws(LockSettingsError) {
        try settings.validate()
        self.settings = settings
        self.epoch = firstEpoch
    }

    /// True while a report holds an edge or a cycle awaits confirmation: the driver must run
    /// passes at `detectionInterval` (an idle detector may wait longer).
    public var holdsEdges: Bool { !candidates.isEmpty || reports.values.contains { !$0.edges.isEmpty } }

    /// Shards with a report held, sorted.
    public var shards: [UInt16] { reports.keys.sorted() }

    /// Replaces `shard`'s edges. `epoch` is the epoch of the latest refresh request the shard
    /// received from this detector (0 if none); a value above the current epoch comes from an
    /// earlier detector and counts as 0.
    public mutating func report(shard: UInt16, edges: [WaitEdge], epoch echoed: UInt64 = 0, at now: Instant) {
        reports[shard] = Report(edges: edges, epoch: echoed <= epoch ? echoed : 0, at: now)
    }

    /// Drops a shard's edges (the shard is gone, or its leader stepped down).
    public mutating func forgetShard(_ shard: UInt16) {
        reports[shard] = nil
    }

    /// One detection pass at `now`.
    public mutating func detect(at now: Instant) -> DetectionRound {
        for shard in reports.keys.sorted() where now - (reports[shard]?.at ?? now) > settings.staleness {
            reports[shard] = nil
        }
        named = named.filter { now - $0.value < settings.victimRetry }

        // The union graph, minus the waits of victims already named.
        var edges: [(edge: WaitEdge, shard: UInt16)] = []
        var seen: Set<WaitEdge> = []
        for shard in reports.keys.sorted() {
            guard let report = reports[shard] else { continue }
            for e in report.edges.sorted() where e.waiter != e.blocker {
                let wait = DeadlockVictim(session: e.waiter, name: e.name, requestID: e.requestID, shard: shard)
                if named[wait] == nil && seen.insert(e).inserted { edges.append((e, shard)) }
            }
        }
        let graph = WaitForGraph(edges: edges.map { ($0.edge.waiter, $0.edge.blocker) })

        let cycles = graph.cycles()
        var component: [SessionID: Int] = [:]
        for (i, cycle) in cycles.enumerated() { for s in cycle { component[s] = i } }
        var inside = [[(edge: WaitEdge, shard: UInt16)]](repeating: [], count: cycles.count)
        for e in edges {
            if let c = component[e.edge.waiter], component[e.edge.blocker] == c { inside[c].append(e) }
        }

        var victims: [DeadlockVictim] = [], refresh: Set<UInt16> = [], kept: [DeadlockVictim: UInt64] = [:]
        var opened = false
        for (c, cycle) in cycles.enumerated() {
            guard let youngest = cycle.max(by: SessionID.opensBefore) else { continue }
            let involved = Set(inside[c].map(\.shard))
            let waits = inside[c].filter { $0.edge.waiter == youngest }.map {
                DeadlockVictim(session: youngest, name: $0.edge.name, requestID: $0.edge.requestID, shard: $0.shard)
            }
            guard let victim = waits.min() else { continue }
            if !settings.confirmCrossShardCycles || involved.count == 1 {
                victims.append(victim)
                continue
            }
            let need = candidates[victim] ?? epoch + 1
            if candidates[victim] == nil { opened = true }
            let behind = involved.filter { (reports[$0]?.epoch ?? 0) < need }
            if candidates[victim] != nil && behind.isEmpty {
                victims.append(victim)
            } else {
                kept[victim] = need
                refresh.formUnion(behind)
            }
        }
        if opened { epoch += 1 }
        candidates = kept
        for v in victims { named[v] = now }
        return DetectionRound(victims: victims.sorted(), refresh: refresh.sorted(), epoch: epoch)
    }
}
