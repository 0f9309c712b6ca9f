import ChorusBase
import Foundation
import Testing
@testable import ChorusRaft

/// The core driven on ChorusStorage: crashes at every step of the persistence order, torn
/// writes, segment rolls and compaction. After every step the invariants hold, and after
/// healing every node converges on the same applied history.
@Suite struct DurableStorageTests {
    final class Cluster {
        var nodes: [DurableNode]
        var queue: [Message] = []
        var rng: SeededRandomWrapper
        var checker = InvariantChecker()
        var appliedIndex: [LogIndex]
        var crashes = 0
        var failure: String?

        init(seed: UInt64) throws {
            var settings = RaftSettings()
            settings.maxMessageBytes = 512
            let initial = Configuration(voters: ids([1, 2, 3]))
            nodes = try (1...3).map { try DurableNode(id: NodeID(UInt64($0)), initial: initial, settings: settings) }
            rng = SeededRandomWrapper(seed: seed)
            appliedIndex = [.zero, .zero, .zero]
        }

        func check(_ i: Int) {
            guard failure == nil, let r = nodes[i].raft else { return }
            failure = checker.check(r)
        }

        func process(_ i: Int, crashAt: DurableNode.Stage? = nil) throws {
            do {
                guard let ready = try nodes[i].persistReady(crashAt: crashAt, sendEarly: { queue.append(contentsOf: $0) }) else { return }
                queue.append(contentsOf: ready.messages)
                if let s = ready.snapshot {
                    if let p = checker.restored(s.metadata, by: nodes[i].id) { failure = p }
                    appliedIndex[i] = s.metadata.index
                }
                for e in ready.committedEntries {
                    if let p = checker.applied(e, by: nodes[i].id, after: appliedIndex[i]) { failure = p }
                    appliedIndex[i] = e.index
                }
                nodes[i].advance(ready)
            } catch is DurableNode.Crash {
                try restart(i)
            }
            check(i)
        }

        func restart(_ i: Int) throws {
            crashes += 1
            try nodes[i].crashAndRestart(tearing: &rng)
            appliedIndex[i] = nodes[i].raft!.log.snapshotIndex
            checker.restarted(nodes[i].id, nodes[i].raft!)
        }

        func step(faults: Bool) throws {
            let i = Int(rng.next() % 3)
            switch rng.next() % 1_000 {
            case 0..<450:
                guard !queue.isEmpty else { return }
                let m = queue.removeFirst()
                if faults && rng.next() % 10 == 0 { return }
                let to = Int(m.to.value - 1)
                nodes[to].raft?.step(m)
                check(to)
            case 450..<600:
                nodes[i].raft?.tick()
                check(i)
            case 600..<700:
                if let l = nodes.firstIndex(where: { $0.raft?.role == .leader }) {
                    _ = try? nodes[l].raft!.propose(Array("v\(rng.next() % 1000)".utf8))
                }
            case 700..<715 where faults:
                try nodes[i].compact(data: Array("image".utf8))
            case 715..<719 where faults:
                let stage = DurableNode.Stage.allCases[Int(rng.next() % 3)]
                try process(i, crashAt: stage)
            case 719..<721 where faults:
                try restart(i)
            default:
                try process(i)
            }
        }
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func crashesAtEveryStepOfThePersistenceOrder_keepTheInvariants(seed: UInt64) throws {
        let cluster = try Cluster(seed: seed)
        for _ in 0..<8_000 where cluster.failure == nil { try cluster.step(faults: true) }
        // Heal: no loss, no crashes, until a leader commits a new entry everywhere.
        var final: EntryID?
        for _ in 0..<20_000 where cluster.failure == nil {
            try cluster.step(faults: false)
            if final == nil, let l = cluster.nodes.firstIndex(where: { $0.raft?.role == .leader }) {
                final = try? cluster.nodes[l].raft!.propose(Array("final".utf8))
            }
            if let f = final, cluster.nodes.allSatisfy({ ($0.raft?.log.applied ?? .zero) >= f.index }) { break }
        }
        #expect(cluster.failure == nil, "seed \(seed): \(cluster.failure ?? "")")
        #expect(cluster.crashes > 10)
        #expect(cluster.checker.committedCount > 100)
        let f = try #require(final)
        for n in cluster.nodes { #expect(n.raft!.log.applied >= f.index, "seed \(seed): \(n.id) behind") }
        #expect(InvariantChecker.logsMatch(cluster.nodes.compactMap(\.raft)) == nil)
    }

    @Test func crashAfterSavingALeadersSnapshot_beforeSyncingTheLog_restartsConsistently() throws {
        // A follower with a divergent uncommitted tail receives a snapshot, saves it, and
        // crashes before the log's truncation is durable.
        let initial = Configuration(voters: ids([1, 2, 3]))
        let node = try DurableNode(id: NodeID(2), initial: initial, settings: RaftSettings())
        let stale = AppendEntries(prevIndex: .zero, prevTerm: .zero,
                                  entries: [Entry(index: LogIndex(1), term: Term(1), payload: .noop),
                                            Entry(index: LogIndex(2), term: Term(1), payload: .command([1]))], commit: .zero)
        node.raft!.step(Message(from: NodeID(1), to: NodeID(2), term: Term(1), body: .appendEntries(stale)))
        node.advance(try #require(try node.persistReady()))
        let image = ChorusRaft.Snapshot(metadata: SnapshotMetadata(index: LogIndex(1), term: Term(2), configuration: initial), data: [42])
        node.raft!.step(Message(from: NodeID(3), to: NodeID(2), term: Term(2), body: .installSnapshot(image)))
        #expect(throws: DurableNode.Crash.self) { _ = try node.persistReady(crashAt: .afterSnapshotSave) }
        var rng = SeededRandomWrapper(seed: 1)
        try node.crashAndRestart(tearing: &rng)
        let log = node.raft!.log
        #expect(log.snapshotIndex == LogIndex(1) && log.snapshot.data == [42])
        #expect(log.lastIndex == LogIndex(1)) // 2@1 belonged to the replaced history
    }
}
