import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusStorage
import Testing

/// Nothing a host sends names a term its disk does not hold yet: a leader's early batches
/// (Raft dissertation §10.2.1) leave before the fsync only in a term already durable.
@Suite struct EarlySendDurabilityTests {
    let shard = ShardID(3)

    /// A founder's group that has grown a learner (n2) and is stored at term 1, restarted.
    private func restartedSingleVoter(on fs: MemoryFileSystem) throws -> (ShardStore, ShardHost<ShardState>) {
        let store = try ShardStore(directory: "/data", fileSystem: fs)
        var stored = HostReady()
        stored.epoch = 9
        var group = Ready()
        group.hardState = HardState(term: Term(1), vote: n1, commit: .zero)
        stored.groups = [(shard, group)]
        stored.compactions = [(shard, .bootstrap(Configuration(voters: [n1], learners: [n2])))]
        try store.persist(stored)
        try store.sync()
        let host = try ShardHost<ShardState>(id: n1, seed: 11, epoch: try store.loadEpoch(), restoring: try store.loadGroups())
        return (store, host)
    }

    /// The term of `shard` a restart would find if the node lost power now.
    private func durableTerm(_ fs: MemoryFileSystem, _ shard: ShardID) -> Term {
        let groups = try? ShardStore(directory: "/data", fileSystem: fs.durableCopy()).loadGroups()
        return groups?[shard]?.hardState.term ?? .zero
    }

    @Test func singleVoterReelectedWithinOneTick_sendsNoMessageOfItsNewTermBeforeTheTermIsOnDisk() throws {
        let fs = MemoryFileSystem()
        var (store, host) = try restartedSingleVoter(on: fs)
        var sent: [(term: Term, durable: Term)] = []
        for _ in 0..<40 where !host.isLeader(of: shard) {
            host.tick()
            _ = try store.drive(&host) { batches in
                for b in batches {
                    for (s, m) in b.expanded where s == shard { sent.append((m.term, durableTerm(fs, s))) }
                }
            }
        }
        #expect(host.isLeader(of: shard))
        #expect(!sent.isEmpty, "the new leader replicated to its learner")
        for s in sent { #expect(s.term <= s.durable, "a message of term \(s.term) left while the disk held term \(s.durable)") }
    }

    @Test func leaderOfADurableTerm_stillSendsNewEntriesBeforeItsFsync() throws {
        let fs = MemoryFileSystem()
        var (store, host) = try restartedSingleVoter(on: fs)
        for _ in 0..<40 where !host.isLeader(of: shard) {
            host.tick()
            _ = try store.drive(&host) { _ in }
        }
        // The learner answers the probe, so the leader streams to it.
        let status = try #require(host.status(of: shard))
        var answer = ShardBatch(from: n2, to: n1, epoch: 9)
        answer.append(Message(from: n2, to: n1, term: status.term, body: .appendResponse(AppendResponse(reject: false, index: status.commit))), shard: shard)
        host.receive(answer)
        _ = try store.drive(&host) { _ in }
        _ = try host.propose(shard: shard, requestID: bytes("r1"), command: put("k", "v"), token: 1)
        let ready = host.ready()
        let early = ready.leaderBatches.flatMap(\.messages).filter { $0.shard == shard }
        #expect(early.contains { if case let .appendEntries(a) = $0.message.body { return !a.entries.isEmpty }; return false })
        try store.persist(ready)
        try store.sync()
        _ = host.advance(ready)
    }
}
