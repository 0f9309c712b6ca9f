import ChorusBase
import ChorusLocks
import ChorusQueue
import ChorusRing
import ChorusShards
import ChorusSim
import Testing
@testable import ChorusNode

/// The node's tick schedule (`Node.nextTick`) driven by the simulator as the agent drives it:
/// an idle node is ticked a few times a second, a node with anything in motion every tick,
/// and a quiet leader still expires a session at its lease's deadline, not at the next quiet
/// tick.
@Suite struct NodeTickScheduleTests {
    static let shards = (0..<8).map { ShardID($0) }

    static func allQuiescent(_ c: NodeCluster) -> Bool {
        c.slots.allSatisfy { s in s.node.map { !$0.host.order.isEmpty && $0.host.quiescentCount == $0.host.order.count } ?? true }
    }

    static func cluster(seed: UInt64, quietTick: Interval = .milliseconds(500)) throws -> NodeCluster {
        var settings = NodeCluster.settings(shards: shards.count)
        settings.quietTick = quietTick
        return try NodeCluster(nodes: 3, settings: settings, seed: seed)
    }

    @Test func anIdleNodeIsTickedAtTheQuietTick_aBusyOneEveryTick() throws {
        let c = try Self.cluster(seed: 41)
        #expect(c.settle())
        c.run(until: c.now + .seconds(10)) { Self.allQuiescent($0) }
        #expect(Self.allQuiescent(c))
        c.run(for: .seconds(1))
        let before = c.slots.map(\.ticks)
        c.run(for: .seconds(10))
        for (s, was) in zip(c.slots, before) {
            let ticks = s.ticks - was
            // 10 s at one tick per 500 ms, give or take the periodic chores that fall between.
            #expect((18...24).contains(ticks), "\(s.name) was ticked \(ticks) times in 10 s of idleness")
        }

        // A request puts the node in motion: it is ticked every tick until it is idle again.
        let busy = c.slots.map(\.ticks)
        let opened = c.ask(.openSession(ttlMillis: 30_000, requestID: try RequestID("tick-open")), at: 0)
        guard case .sessionOpened? = opened else { Issue.record("open: \(String(describing: opened))"); return }
        c.run(for: .milliseconds(500))
        let home = try #require(Self.home(of: c))
        let leader = try #require(c.leader(of: home))
        #expect(c.slots[leader].ticks - busy[leader] >= 9, "the leader ticked \(c.slots[leader].ticks - busy[leader]) times in its busy half second")
    }

    /// The shard whose leader tracks the one open session.
    static func home(of c: NodeCluster) -> ShardID? {
        for s in c.slots {
            guard let node = s.node else { continue }
            for (shard, clocks) in node.duties.leaders where !clocks.tracked.isEmpty { return shard }
        }
        return nil
    }

    @Test(arguments: [5, 6, 7] as [UInt64])
    func aQuietLeaderExpiresASessionAtItsLeasesDeadline(seed: UInt64) throws {
        // A quiet tick far longer than the lease's slack: expiring at the next quiet tick
        // instead of the deadline would be seconds late.
        let c = try Self.cluster(seed: seed, quietTick: .seconds(8))
        #expect(c.settle())
        let opened = c.ask(.openSession(ttlMillis: 3_000, requestID: try RequestID("quiet-open")), at: 1)
        guard case let .sessionOpened(session, _)? = opened else { Issue.record("open: \(String(describing: opened))"); return }
        let shard = try #require(Self.home(of: c))
        let leader = try #require(c.leader(of: shard))
        let node = try #require(c.slots[leader].node)
        let deadline = try #require(node.duties.leaders[shard]?.leases.deadline(of: session))
        // No keep-alive: the group quiesces while the lease runs out.
        c.run(until: c.now + .seconds(10)) { _ in node.counters.expiryProposals > 0 }
        #expect(node.host.isQuiescent(shard) || node.counters.expiryProposals > 0)
        #expect(node.counters.expiryProposals == 1, "the session was expired")
        let late = c.time(leader).now - deadline
        #expect(late >= .zero && late <= .milliseconds(100), "the expiry was proposed \(late) after the lease's deadline")
    }
    @Test func aLeaderStopsReportingOnceTheDetectorHoldsItsEmptyReport() throws {
        let c = try Self.cluster(seed: 43)
        #expect(c.settle())
        let a = c.ask(.openSession(ttlMillis: 30_000, requestID: try RequestID("report-a")), at: 0)
        let b = c.ask(.openSession(ttlMillis: 30_000, requestID: try RequestID("report-b")), at: 1)
        guard case let .sessionOpened(sa, _)? = a, case let .sessionOpened(sb, _)? = b else {
            Issue.record("open: \(String(describing: a)) \(String(describing: b))"); return
        }
        // Waits on locks spread over the shards, so that leaders other than the detector's
        // report edges, then every wait is granted and every lock released.
        let names = try (0..<16).map { try LockName("report/\($0)") }
        for (i, name) in names.enumerated() {
            let held = c.ask(.acquire(name: name, session: sa, mode: .exclusive, waitMillis: 0, requestID: try RequestID("ha\(i)")), at: 0)
            guard case .granted? = held else { Issue.record("hold \(name): \(String(describing: held))"); return }
        }
        let waits = try names.enumerated().map { i, name in
            c.submit(.acquire(name: name, session: sb, mode: .exclusive, waitMillis: 20_000, requestID: try RequestID("wb\(i)")), to: 1)
        }
        c.run(for: .seconds(2))
        let reportsWhileWaiting = c.slots.compactMap { $0.node?.counters.deadlockReportsSent }.reduce(0, +)
        #expect(reportsWhileWaiting > 0, "leaders reported their edges to the detector")
        for (i, name) in names.enumerated() {
            _ = c.ask(.release(name: name, session: sa, requestID: try RequestID("ra\(i)")), at: 0)
        }
        c.run(for: .seconds(2))
        for t in waits { if case .granted? = c.replies[t]?.reply {} else { Issue.record("wait \(t): \(String(describing: c.replies[t]))") } }
        for (i, name) in names.enumerated() {
            _ = c.ask(.release(name: name, session: sb, requestID: try RequestID("rb\(i)")), at: 1)
        }
        // One empty report per shard clears the detector's edges; after that, silence.
        c.run(for: .seconds(2))
        let settled = c.slots.compactMap { $0.node?.counters.deadlockReportsSent }.reduce(0, +)
        c.run(for: .seconds(5))
        let idle = c.slots.compactMap { $0.node?.counters.deadlockReportsSent }.reduce(0, +) - settled
        #expect(idle == 0, "\(idle) reports were sent in 5 s with no wait anywhere")
    }

    /// A leased message on a partition a quiet leader leads: where it is and when it runs out.
    static func lease(in c: NodeCluster) -> (node: Int, shard: ShardID, partition: PartitionID, dueMillis: UInt64)? {
        for (i, s) in c.slots.enumerated() {
            guard let node = s.node else { continue }
            for shard in node.host.ledShards {
                guard let queues = node.host.machine(of: shard)?.queues else { continue }
                for (id, p) in queues.partitions { if let due = p.nextDeadlineMillis { return (i, shard, id, due) } }
            }
        }
        return nil
    }

    @Test(arguments: [8, 9] as [UInt64])
    func aQuietLeaderEndsAQueueLeaseAtItsDeadline(seed: UInt64) throws {
        let c = try Self.cluster(seed: seed, quietTick: .seconds(8))
        #expect(c.settle())
        let q = try QueueName("quiet")
        var s = QueueSettings(); s.partitions = 1
        guard case .queueCatalogue(.created)? = c.ask(.queueCreate(q, s), at: 0) else { Issue.record("not created"); return }
        guard case .queuePublished? = c.ask(.queuePublish(q, [OutgoingMessage(body: [7])]), at: 1) else { Issue.record("publish"); return }
        let fetched = c.ask(.queueFetch(q, consumer: try ConsumerID("c"), maxMessages: 1, maxBytes: 0, visibilityMillis: 3_000, waitMillis: 500), at: 2)
        guard case let .queueDelivered(list)? = fetched, list.count == 1 else { Issue.record("fetch: \(String(describing: fetched))"); return }
        let lease = try #require(Self.lease(in: c))
        // Nobody asks for anything: the partition's group quiesces while the lease runs out.
        c.run(until: c.now + .seconds(10)) { c in
            c.slots[lease.node].node?.host.machine(of: lease.shard)?.queues.partitions[lease.partition]?.nextDeadlineMillis != lease.dueMillis
        }
        let late = Int64(c.time(lease.node).wallMillis) - Int64(lease.dueMillis)
        #expect((0...150).contains(late), "the lease ended \(late) ms after its deadline")
    }

    /// A deadlock across shards on quiet nodes is still broken within the detector's bound:
    /// queued waits and the detector's edges keep their nodes ticking at the regular interval.
    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func aDeadlockBetweenQuietNodesIsBrokenWithinTheDetectorsBound(seed: UInt64) throws {
        let c = try Self.cluster(seed: seed)
        #expect(c.settle())
        c.run(until: c.now + .seconds(10)) { Self.allQuiescent($0) }
        guard case let .sessionOpened(a, _)? = c.ask(.openSession(ttlMillis: 30_000, requestID: try RequestID("dl-a")), at: 0),
              case let .sessionOpened(b, _)? = c.ask(.openSession(ttlMillis: 30_000, requestID: try RequestID("dl-b")), at: 1) else {
            Issue.record("sessions"); return
        }
        // Two names on different shards, each held by one session, on shards led by nodes
        // other than the detector's (shard 0's leader): only reports reach the detector.
        let node = try #require(c.slots[0].node)
        let detector = try #require(c.leader(of: ShardID(0)))
        let names = try (0..<256).map { try LockName("dl/\($0)") }
        let away = names.filter { c.leader(of: node.shard(forKey: $0.text)).map { $0 != detector } ?? false }
        let x = try #require(away.first)
        let y = try #require(away.first { node.shard(forKey: $0.text) != node.shard(forKey: x.text) })
        let origin = try #require(c.leader(of: node.shard(forKey: x.text)))
        guard case .granted? = c.ask(.acquire(name: x, session: a, mode: .exclusive, waitMillis: 0, requestID: try RequestID("ax")), at: 0),
              case .granted? = c.ask(.acquire(name: y, session: b, mode: .exclusive, waitMillis: 0, requestID: try RequestID("by")), at: 1) else {
            Issue.record("holds"); return
        }
        // Let every group quiesce again before the cycle closes.
        c.run(until: c.now + .seconds(10)) { Self.allQuiescent($0) }
        let first = c.submit(.acquire(name: y, session: a, mode: .exclusive, waitMillis: 20_000, requestID: try RequestID("ay")), to: origin)
        c.run(for: .milliseconds(100))
        let closed = c.now
        let second = c.submit(.acquire(name: x, session: b, mode: .exclusive, waitMillis: 20_000, requestID: try RequestID("bx")), to: origin)
        c.run(until: c.now + .seconds(5)) { c in c.replies[first] != nil || c.replies[second] != nil }
        let broken = c.now - closed
        let answer = c.replies[first]?.reply ?? c.replies[second]?.reply
        guard case let .failure(f)? = answer, f.code == .deadlock else { Issue.record("answer: \(String(describing: answer))"); return }
        #expect(broken <= DetectorSettings().detectionBound, "the cycle was broken \(broken) after it closed")
    }
}
