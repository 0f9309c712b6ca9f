import ChorusBase
import ChorusLocks
import ChorusMembership
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusSim
import Testing
@testable import ChorusNode

/// The lock service's lease rules across changes of leader, on whole nodes. Each scenario
/// also runs with the planted fault that reproduces the old runtime glue's behaviour, and
/// shows that fault breaks the rule — so the scenario can fail.
@Suite struct LeaseSafetyTests {
    static let ttl: UInt64 = 2_000

    /// These scenarios cut a node off for several seconds to stage a change of leader: the
    /// rules under test are Raft's and the lease's, not the failure detector's. A SWIM that
    /// suspects the cut-off node but declares it dead only after a minute keeps it in the
    /// placement, so the rebalancer does not shrink the groups to two voters meanwhile.
    static func membership() -> MembershipSettings {
        var m = NodeCluster.membershipSettings()
        m.suspicionMultiplier = 100
        return m
    }

    /// A settled 3-node cluster with one session: the cluster, the session, its home shard
    /// and the home's leader.
    static func cluster(_ settings: NodeSettings, seed: UInt64) throws -> (NodeCluster, SessionID, ShardID, Int) {
        let c = try NodeCluster(nodes: 3, settings: settings, seed: seed, membership: membership())
        #expect(c.settle())
        guard case let .sessionOpened(s, _)? = c.ask(.openSession(ttlMillis: ttl, requestID: try RequestID("open-1")), at: 0) else {
            Issue.record("no session")
            throw CancellationError()
        }
        let home = ShardID(Int(s.home))
        guard let leader = c.leader(of: home) else { throw CancellationError() }
        return (c, s, home, leader)
    }

    /// The home leader commits an entry about `s` (`committed` says when it has applied it)
    /// and crashes before the followers learn it is committed: one follower (`f1`) holds it,
    /// the other (`f2`) was cut off meanwhile and comes back for the election. Returns `f1`
    /// once it leads, right after it took over (before its own first entry commits).
    /// (Leadership may move between the two connected nodes meanwhile — the rebalancer moves
    /// leaders — so the node crashed is whichever leads when the entry is applied.)
    static func crashLeaderHidingCommit(_ c: NodeCluster, home: ShardID, leader: Int, committed: (NodeCluster, Int) -> Bool) -> Int? {
        let others = c.slots.indices.filter { $0 != leader }
        let f2 = others[1]
        c.isolate(f2)
        func done(_ c: NodeCluster) -> Bool { c.leader(of: home).map { committed(c, $0) } ?? false }
        c.run(until: c.now + .seconds(20)) { done($0) }
        guard done(c), let current = c.leader(of: home) else { return nil }
        c.crashLosingInFlight(current)
        c.heal()
        c.run(until: c.now + .seconds(20)) { $0.leader(of: home) != nil }
        return c.leader(of: home)
    }

    // MARK: 3a — a new leader that holds, but has not applied, a committed expireSession

    static func keepAliveAfterHiddenExpiry(planted: Bool, seed: UInt64) throws -> ClientReply? {
        var settings = NodeCluster.settings()
        settings.plantedBugs.keepAliveWithoutReadIndex = planted
        let (c, s, home, leader) = try cluster(settings, seed: seed)
        // No keep-alives: the leader expires the session after its TTL.
        guard let next = crashLeaderHidingCommit(c, home: home, leader: leader, committed: { $0.table($1, home)?.isDead(s) == true })
        else { return nil }
        #expect(c.table(next, home)?.isDead(s) == false, "the new leader has not applied the expiry yet")
        return c.ask(.keepAlive(s), at: next)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func keepAlive_onNewLeaderHoldingUnappliedExpiry_isRefused(seed: UInt64) throws {
        let reply = try LeaseSafetyTests.keepAliveAfterHiddenExpiry(planted: false, seed: seed)
        #expect(reply == .failure(ClientFailure(code: .sessionExpired, message: "the session has expired or was closed")),
                "a session whose expiry is committed is never renewed: \(String(describing: reply))")
    }

    @Test func keepAlive_withoutReadIndex_renewsAnExpiredSession_plantedBugIsCaught() throws {
        let reply = try LeaseSafetyTests.keepAliveAfterHiddenExpiry(planted: true, seed: 1)
        guard case .sessionAlive? = reply else {
            Issue.record("the planted fault should renew the expired session, got \(String(describing: reply))")
            return
        }
    }

    // MARK: 3a — a deposed leader still answering while a new one runs

    /// The home leader is cut off with its client (check-quorum off, so it keeps believing it
    /// leads); the majority elects a leader that expires the session. Returns how long the
    /// client believed the session alive past the commit of its expiry (0: never).
    static func deposedLeaderOverlap(planted: Bool, seed: UInt64) throws -> Interval {
        var settings = NodeCluster.settings()
        settings.shards.raft.checkQuorum = false
        settings.plantedBugs.keepAliveWithoutReadIndex = planted
        let (c, s, home, _) = try cluster(settings, seed: seed)
        var believedUntil = Instant.zero
        var expiryCommitted: Instant?
        var leader = c.leader(of: home) ?? 0
        func keepAlive() {
            let sent = c.now
            let t = c.submit(.keepAlive(s), to: leader)
            c.run(until: c.now + .milliseconds(400)) { cluster in
                if expiryCommitted == nil, cluster.slots.indices.contains(where: { $0 != leader && cluster.table($0, home)?.isDead(s) == true }) {
                    expiryCommitted = cluster.now
                }
                return false
            }
            if case .sessionAlive? = c.replies[t]?.reply { believedUntil = max(believedUntil, sent + .milliseconds(Int64(ttl))) }
        }
        for _ in 0..<3 { keepAlive() }
        leader = c.leader(of: home) ?? 0
        c.isolate(leader)
        for _ in 0..<25 { keepAlive() }
        guard let committed = expiryCommitted else {
            Issue.record("the majority never expired the session")
            return .zero
        }
        return max(.zero, believedUntil - committed)
    }

    @Test(arguments: [1, 2] as [UInt64])
    func deposedLeader_neverRenewsASessionTheNewLeaderExpires(seed: UInt64) throws {
        let overlap = try LeaseSafetyTests.deposedLeaderOverlap(planted: false, seed: seed)
        #expect(overlap == .zero, "the client believed the session alive \(overlap) past its committed expiry")
    }

    @Test func deposedLeader_withoutReadIndex_overlapsTheNewLeader_plantedBugIsCaught() throws {
        let overlap = try LeaseSafetyTests.deposedLeaderOverlap(planted: true, seed: 1)
        #expect(overlap > .zero, "the planted fault should let the deposed leader renew the session")
    }

    // MARK: 3b — a new leader waits out the old leader's possible tenure

    static func takeoverDeadlineSlack(planted: Bool, seed: UInt64) throws -> Interval? {
        var settings = NodeCluster.settings()
        settings.plantedBugs.takeoverWithoutGrace = planted
        let (c, s, home, leader) = try cluster(settings, seed: seed)
        c.crash(leader)
        c.run(until: c.now + .seconds(20)) { $0.leader(of: home) != nil }
        guard let next = c.leader(of: home), let node = c.slots[next].node, let clocks = node.duties.leaders[home],
              let deadline = clocks.leases.deadline(of: s) else { return nil }
        let floor = clocks.takeoverAt + .milliseconds(Int64(ttl)) + settings.longestElection + settings.clockDriftAllowance
        return deadline - floor
    }

    @Test func newLeader_givesEverySessionTTLPlusElectionPlusDrift() throws {
        let slack = try #require(try LeaseSafetyTests.takeoverDeadlineSlack(planted: false, seed: 4))
        #expect(slack >= .zero, "deadline on takeover is \(slack) short of TTL + longest election + drift")
        let planted = try #require(try LeaseSafetyTests.takeoverDeadlineSlack(planted: true, seed: 4))
        #expect(planted < .zero, "the planted fault (TTL only) must fall short")
    }

    // MARK: 3c — a live session is never told it expired right after a change of leader

    static func keepAliveAfterHiddenOpen(planted: Bool, seed: UInt64) throws -> ClientReply? {
        var settings = NodeCluster.settings()
        settings.plantedBugs.keepAliveWithoutReadIndex = planted
        let c = try NodeCluster(nodes: 3, settings: settings, seed: seed, membership: membership())
        #expect(c.settle())
        let id = try RequestID("open-hidden")
        let home = ShardMap.shard(of: Token(key: "session/open-hidden"), shardCount: settings.placement.shardCount)
        guard let leader = c.leader(of: home) else { return nil }
        let ticket = c.submit(.openSession(ttlMillis: 10_000, requestID: id), to: leader)
        guard let next = crashLeaderHidingCommit(c, home: home, leader: leader, committed: { c, _ in c.replies[ticket] != nil }),
              case let .sessionOpened(s, _)? = c.replies[ticket]?.reply else { return nil }
        return c.ask(.keepAlive(s), at: next)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func keepAlive_rightAfterLeaderChange_neverSaysExpiredForALiveSession(seed: UInt64) throws {
        let reply = try LeaseSafetyTests.keepAliveAfterHiddenOpen(planted: false, seed: seed)
        guard case .sessionAlive? = reply else {
            Issue.record("a live session must be renewed (or told to retry), got \(String(describing: reply))")
            return
        }
    }

    @Test func keepAlive_withoutReadIndex_callsALiveSessionExpired_plantedBugIsCaught() throws {
        let reply = try LeaseSafetyTests.keepAliveAfterHiddenOpen(planted: true, seed: 1)
        guard case .failure(let f)? = reply, f.code == .sessionExpired else {
            Issue.record("the planted fault should answer session_expired, got \(String(describing: reply))")
            return
        }
    }
}
