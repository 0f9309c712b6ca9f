import XCTest
import ChorusRaft
import ChorusRing
import ChorusShards

final class ShardBatchCodecTests: XCTestCase {
    func testBatch_roundTrips_withCoalescedHeartbeats() throws {
        var b = ShardBatch(from: NodeID(1), to: NodeID(2), epoch: 42)
        b.append(Message(from: NodeID(1), to: NodeID(2), term: Term(3), body: .heartbeat(Heartbeat(commit: LogIndex(7)))), shard: ShardID(5))
        b.append(Message(from: NodeID(1), to: NodeID(2), term: Term(3), body: .appendEntries(AppendEntries(prevIndex: LogIndex(1), prevTerm: Term(1), entries: [Entry(index: LogIndex(2), term: Term(3), payload: .command([1, 2]))], commit: LogIndex(1)))), shard: ShardID(9))
        b.removals.append(.init(shard: ShardID(4), term: Term(2), index: LogIndex(11)))
        XCTAssertEqual(b.heartbeats.count, 1, "a plain heartbeat is coalesced")
        XCTAssertEqual(try ShardBatchCodec.decode(ShardBatchCodec.encode(b)), b)
    }
}
