import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards
import ChorusWire
import Testing

/// `ShardBatchCodec.frames`: a batch too large for one frame travels as several, each a
/// complete batch, with the heartbeats first.
@Suite struct ShardBatchFramesTests {
    let from = NodeID(1), to = NodeID(2)

    private func append(shard: Int, bytes: Int, index: UInt64 = 10) -> Message {
        let entry = Entry(index: LogIndex(index + 1), term: Term(4), payload: .command([UInt8](repeating: UInt8(shard & 0xFF), count: bytes)))
        return Message(from: from, to: to, term: Term(4),
                       body: .appendEntries(AppendEntries(prevIndex: LogIndex(index), prevTerm: Term(4), entries: [entry], commit: LogIndex(index))))
    }

    /// The batch a leader of 64 groups sends a follower that lags in all of them.
    private func catchUp(groups: Int, bytesPerGroup: Int) -> ShardBatch {
        var b = ShardBatch(from: from, to: to, epoch: 7)
        for g in 0..<groups {
            b.append(append(shard: g, bytes: bytesPerGroup), shard: ShardID(UInt32(g)))
            b.append(Message(from: from, to: to, term: Term(4), body: .heartbeat(Heartbeat(commit: LogIndex(10)))), shard: ShardID(UInt32(g)))
        }
        b.removals.append(.init(shard: ShardID(99), term: Term(3), index: LogIndex(5)))
        return b
    }

    private func decodeAll(_ frames: [[UInt8]]) throws -> [ShardBatch] {
        try frames.map { try ShardBatchCodec.decode($0) }
    }

    @Test func catchUpOfManyGroups_largerThanAFrame_isSplitIntoFramesUnderTheLimit_heartbeatsFirst() throws {
        let limit = 1 << 20
        let batch = catchUp(groups: 64, bytesPerGroup: 100_000)
        #expect(ShardBatchCodec.encode(batch).count > limit, "as one frame it would be refused")
        let frames = ShardBatchCodec.frames(batch, maxFrameBytes: limit)
        #expect(frames.count >= 7)
        for f in frames { #expect(f.count <= limit) }
        let parts = try decodeAll(frames)
        #expect(parts[0].heartbeats == batch.heartbeats, "every group's heartbeat is in the first frame")
        #expect(parts[0].removals == batch.removals)
        #expect(parts.dropFirst().allSatisfy { $0.heartbeats.isEmpty && $0.removals.isEmpty })
        let messages = parts.flatMap(\.messages)
        #expect(messages.map(\.shard) == batch.messages.map(\.shard))
        #expect(messages.map(\.message) == batch.messages.map(\.message))
        #expect(parts.allSatisfy { $0.from == from && $0.to == to && $0.epoch == 7 })
    }

    @Test func batchThatFits_isOneFrame_byteForByteTheSingleEncoding() throws {
        var gen = BatchGenerator(seed: 31)
        for _ in 0..<500 {
            let b = gen.batch()
            #expect(ShardBatchCodec.frames(b) == [ShardBatchCodec.encode(b)])
        }
        let empty = ShardBatch(from: from, to: to, epoch: 0)
        #expect(ShardBatchCodec.frames(empty) == [ShardBatchCodec.encode(empty)])
    }

    @Test func messageLargerThanAFrame_travelsAlone_andDelaysNothingElse() throws {
        var b = ShardBatch(from: from, to: to, epoch: 1)
        b.append(Message(from: from, to: to, term: Term(4), body: .heartbeat(Heartbeat(commit: LogIndex(3)))), shard: ShardID(1))
        b.append(append(shard: 1, bytes: 100), shard: ShardID(1))
        b.append(append(shard: 2, bytes: 10_000), shard: ShardID(2))
        b.append(append(shard: 3, bytes: 100), shard: ShardID(3))
        let frames = ShardBatchCodec.frames(b, maxFrameBytes: 2_000)
        #expect(frames.map { $0.count > 2_000 } == [false, true, false])
        let parts = try decodeAll(frames)
        #expect(parts.map(\.messages.count) == [1, 1, 1])
        #expect(parts.map { $0.messages.map(\.shard) } == [[ShardID(1)], [ShardID(2)], [ShardID(3)]])
        #expect(parts[0].heartbeats.count == 1)
    }

    @Test func randomBatches_underRandomLimits_splitIntoDecodableFrames_thatAddUpToTheBatch() throws {
        var gen = BatchGenerator(seed: 32)
        var rng = SeededRandom(seed: 33)
        for _ in 0..<1_000 {
            let b = gen.batch(maxMessages: 40)
            let limit = 40 + rng.below(600)
            let frames = ShardBatchCodec.frames(b, maxFrameBytes: limit)
            let parts = try decodeAll(frames)
            for (f, p) in zip(frames, parts) where f.count > limit {
                #expect(p.messageCount + p.removals.count + p.snapshotAcks.count + p.snapshotChunks.count == 1, "only a lone item may exceed the limit")
            }
            #expect(parts.flatMap(\.heartbeats) == b.heartbeats)
            #expect(parts.flatMap(\.heartbeatResponses) == b.heartbeatResponses)
            #expect(parts.flatMap(\.removals) == b.removals)
            #expect(parts.flatMap(\.messages).map(\.message) == b.messages.map(\.message))
            #expect(parts.flatMap(\.snapshotAcks) == b.snapshotAcks)
            #expect(parts.flatMap(\.snapshotChunks) == b.snapshotChunks)
            #expect(parts.allSatisfy { !$0.isEmpty } || frames.count == 1)
        }
    }
}
