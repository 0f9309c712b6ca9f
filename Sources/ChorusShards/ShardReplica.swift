import ChorusRaft
import ChorusRing
import ChorusWire

/// One shard group's member on this node: the Raft core, the replicated state (the
/// application's machine plus the request ledger) and the proposals waiting to apply.
///
/// Invariants: `machine` and `ledger` reflect exactly the entries through
/// `node.log.applied`; a pending proposal is answered once — applied (its entry committed
/// at the index and term it was given) or dropped (another entry took that index).
struct ShardReplica<Machine: ReplicatedStateMachine>: Sendable {
    struct Pending: Sendable {
        var term: Term
        var token: UInt64
    }

    var node: RaftNode
    var machine: Machine
    var ledger: RequestLedger
    var pending: [LogIndex: Pending] = [:]
    var appliedSinceSnapshot = 0
    /// Bytes of the commands applied since the last snapshot (`ShardHostSettings.snapshotEveryBytes`).
    var appliedBytesSinceSnapshot = 0
    /// Ticks since this replica last heard from a leader of its group (or led it).
    var ticksWithoutLeader = 0
    /// Ticks in a row this leader was idle enough to quiesce (`ShardHost+Quiescence`).
    var idleTicks = 0
    var lastRole: RaftNode.Role = .follower
    /// The host tick at which this node applied the committed configuration that removed it.
    /// The replica lives two more ticks so its last messages (a leader's `timeoutNow` to its
    /// successor) go out.
    var removalAppliedAtTick: Int?
    /// The configuration as of the last applied entry (to see who a new one removes).
    var appliedConfiguration: Configuration?

    /// The state machine image inside a Raft snapshot: the ledger, then the machine.
    static func image(machine: Machine, ledger: RequestLedger) -> [UInt8] { image(machineImage: machine.image(), ledger: ledger) }

    /// The same around a machine image already made (`Machine.localImage()`).
    static func image(machineImage: [UInt8], ledger: RequestLedger) -> [UInt8] {
        var w = ByteWriter(capacity: 256 + machineImage.count)
        w.u8(1)
        ledger.encode(into: &w)
        w.raw(machineImage)
        return w.bytes
    }

    /// Restores what `image` wrote, the machine's files in `bodyStores`; an empty image is the
    /// initial state.
    static func restore(_ bytes: [UInt8], shard: ShardID, ledgerCapacity: Int, bodyStores: ShardBodyStores) throws -> (Machine, RequestLedger) {
        guard !bytes.isEmpty else { return (Machine(shard: shard, bodyStores: bodyStores), RequestLedger(capacity: ledgerCapacity)) }
        var r = ByteReader(bytes)
        let version = try r.u8()
        guard version == 1 else { throw WireError.invalid(field: "shard image version", reason: "\(version) unsupported") }
        let ledger = try RequestLedger(capacity: ledgerCapacity, decoding: &r)
        let machine = try Machine(shard: shard, image: try r.raw(r.remaining), bodyStores: bodyStores)
        return (machine, ledger)
    }
}
