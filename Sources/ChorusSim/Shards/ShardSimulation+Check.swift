import ChorusRaft
import ChorusRing
import ChorusShards

/// What `ShardSimulation.check()` found. Invariant: `problems` is empty exactly when every
/// shard has one leader, sits on its current placement with only live voters and no
/// learners, and every acknowledged write is in every voter's state.
public struct ShardSimulationReport: Sendable {
    public var shards = 0
    public var shardsLed = 0
    public var shardsOnPlacement = 0
    public var writes = 0
    public var writesAcknowledged = 0
    public var writesLost = 0
    public var reconfigurations = 0
    public var snapshotsSent = 0
    public var batches = 0
    public var messages = 0
    public var problems: [String] = []

    public var summary: String {
        "\(shardsLed)/\(shards) shards led, \(shardsOnPlacement)/\(shards) on placement, "
            + "\(writesAcknowledged)/\(writes) writes acknowledged, \(writesLost) lost, "
            + "\(reconfigurations) configuration changes, \(snapshotsSent) snapshots sent, "
            + "\(messages) Raft messages in \(batches) batches, \(problems.count) problems"
    }
}

extension ShardSimulation {
    /// Checks the cluster as it stands now (let it settle first: `stopClients` then run on).
    public func check() -> ShardSimulationReport {
        var report = ShardSimulationReport()
        report.shards = settings.shards
        report.problems = violations
        report.batches = batchesSent
        report.messages = messagesSent
        let running = nodes.filter(\.isRunning)
        for n in running {
            report.reconfigurations += n.host?.counters.reconfigurations ?? 0
            report.snapshotsSent += n.host?.counters.snapshotsSent ?? 0
        }
        updatePlacement()
        var leaderOf: [ShardID: SimNode] = [:]
        for s in 0..<settings.shards {
            let shard = ShardID(s)
            let leading = running.filter { $0.host?.isLeader(of: shard) == true }
                .sorted { ($0.host?.status(of: shard)?.term ?? .zero) > ($1.host?.status(of: shard)?.term ?? .zero) }
            guard let leader = leading.first, let status = leader.host?.status(of: shard) else {
                report.problems.append("shard \(shard): no leader")
                continue
            }
            report.shardsLed += 1
            leaderOf[shard] = leader
            let target = lastTargets[shard] ?? []
            let liveIDs = Set(running.map(\.id))
            if Set(status.voters) == Set(target), status.learners.isEmpty, status.voters.allSatisfy(liveIDs.contains),
               target.count == min(settings.replicas, running.filter { !$0.draining }.count) {
                report.shardsOnPlacement += 1
            } else {
                report.problems.append("shard \(shard): voters \(status.voters) learners \(status.learners), placement \(target)")
            }
        }
        report.writes = writes.count
        for w in writes where w.acknowledged {
            report.writesAcknowledged += 1
            guard let leader = leaderOf[w.shard], let status = leader.host?.status(of: w.shard) else { continue }
            var lost = false
            for voter in status.voters {
                guard let node = nodes.first(where: { $0.id == voter }), let machine = node.host?.machine(of: w.shard) else { continue }
                if machine.values[w.key] != w.value { lost = true }
            }
            if lost {
                report.writesLost += 1
                if report.writesLost <= 5 { report.problems.append("acknowledged write \(String(decoding: w.key, as: UTF8.self)) missing on shard \(w.shard)") }
            }
        }
        return report
    }
}
