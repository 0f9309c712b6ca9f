import ChorusRaft
import ChorusRing

/// A replica's stored or received state cannot be read back. The node must stop (fail-stop):
/// going on would either lose the shard's state silently or serve a machine that no longer
/// matches its Raft log. `ShardStore.drive` and `ShardStore.loadGroups` throw it; the message
/// names the shard, the index and the reason, for the operator.
public struct ShardStorageFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var shard: ShardID
    public var index: LogIndex
    public var reason: String

    public init(shard: ShardID, index: LogIndex, reason: String) {
        self.shard = shard; self.index = index; self.reason = reason
    }

    public var description: String { "shard \(shard): the snapshot at index \(index) cannot be read: \(reason)" }
}
