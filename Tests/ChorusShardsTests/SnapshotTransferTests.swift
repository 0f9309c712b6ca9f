import ChorusRaft
import ChorusRing
@testable import ChorusShards
import ChorusWire
import Testing

/// Snapshot images streamed in chunks (Raft §7 with offsets): the wire items, the two ends'
/// state machines, and whole transfers between hosts.
@Suite struct SnapshotTransferTests {
    let leader = NodeID(1), member = NodeID(2)

    private func snapshot(bytes: Int) -> Snapshot {
        Snapshot(metadata: SnapshotMetadata(index: LogIndex(40), term: Term(3), configuration: Configuration(voters: [NodeID(1), NodeID(2)])),
                 data: (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    }

    // MARK: wire

    @Test func chunksAndAnswers_roundTripAsVersion2_andABatchWithoutThemStaysVersion1() throws {
        var b = ShardBatch(from: leader, to: member, epoch: 3)
        b.snapshotChunks = [SnapshotChunk(shard: ShardID(7), term: Term(4), index: LogIndex(40), snapshotTerm: Term(3), totalBytes: 10,
                                          checksum: 0xDEAD_BEEF, offset: 4, bytes: [1, 2, 3])]
        b.snapshotAcks = [SnapshotChunkAck(shard: ShardID(7), index: LogIndex(40), received: 4)]
        let encoded = ShardBatchCodec.encode(b)
        #expect(encoded[2] == 2)
        #expect(try ShardBatchCodec.decode(encoded) == b)
        #expect(ShardBatchCodec.frames(b) == [encoded])
        #expect(ShardBatchCodec.encode(ShardBatch(from: leader, to: member, epoch: 3))[2] == 1)
    }

    @Test func chunkReachingPastItsImage_isRefusedByTheDecoder() throws {
        var b = ShardBatch(from: leader, to: member, epoch: 3)
        b.snapshotChunks = [SnapshotChunk(shard: ShardID(7), term: Term(4), index: LogIndex(40), snapshotTerm: Term(3), totalBytes: 5,
                                          checksum: 1, offset: 4, bytes: [1, 2])]
        #expect(throws: WireError.self) { try ShardBatchCodec.decode(ShardBatchCodec.encode(b)) }
        b.snapshotChunks[0].snapshotTerm = Term(5)
        b.snapshotChunks[0].bytes = [1]
        #expect(throws: WireError.self) { try ShardBatchCodec.decode(ShardBatchCodec.encode(b)) }
    }

    // MARK: the two ends

    /// Moves chunks from `sending` to `receiving` and answers back, dropping the chunks whose
    /// position (counted from 0 over the whole run) is in `lose`; returns the snapshot once whole.
    private func run(_ sending: inout SnapshotSending, _ receiving: inout SnapshotReceiving?, lose: Set<Int> = [],
                     chunk: Int, window: Int, maxRounds: Int = 200) -> Snapshot? {
        var position = 0
        for _ in 0..<maxRounds {
            let chunks = sending.chunks(chunkBytes: chunk, windowBytes: window) ?? []
            #expect(chunks.reduce(0) { $0 + $1.bytes.count } <= window)
            if chunks.isEmpty { sending.tick(resendTicks: 3) }
            for c in chunks {
                defer { position += 1 }
                if lose.contains(position) { continue }
                if receiving == nil, c.offset == 0 { receiving = SnapshotReceiving(from: leader, first: c) }
                guard var r = receiving, r.matches(c, from: leader) else { continue }
                let outcome = r.receive(c, limits: .stored)
                receiving = r
                sending.acknowledge(received: r.received)
                if case let .complete(s) = outcome { return s }
            }
        }
        return nil
    }

    @Test func image_travelsInChunksWithinTheWindow_andArrivesWhole() throws {
        let s = snapshot(bytes: 10_000)
        var sending = SnapshotSending(to: member, shard: ShardID(1), term: Term(4), snapshot: s)
        var receiving: SnapshotReceiving?
        let received = run(&sending, &receiving, chunk: 512, window: 2_048)
        #expect(received == s)
        #expect(sending.isComplete)
        #expect(sending.resentBytes == 0)
    }

    @Test func lostChunk_isResentAfterASilence_fromWhatTheMemberHolds_notFromTheStart() throws {
        let s = snapshot(bytes: 10_000)
        var sending = SnapshotSending(to: member, shard: ShardID(1), term: Term(4), snapshot: s)
        var receiving: SnapshotReceiving?
        let received = run(&sending, &receiving, lose: [10], chunk: 512, window: 2_048)
        #expect(received == s)
        #expect(sending.resentBytes > 0 && sending.resentBytes <= 2_048, "only the window after the gap is sent again")
    }

    @Test func damagedImage_isNotInstalled() throws {
        let s = snapshot(bytes: 1_000)
        var sending = SnapshotSending(to: member, shard: ShardID(1), term: Term(4), snapshot: s)
        var chunks = sending.chunks(chunkBytes: 4_096, windowBytes: 4_096) ?? []
        chunks[0].bytes[chunks[0].bytes.count - 1] ^= 0xFF
        var receiving = SnapshotReceiving(from: leader, first: chunks[0])
        #expect(receiving.receive(chunks[0], limits: .stored) == .damaged("checksum mismatch"))
    }

    @Test func memberThatLostItsCopy_makesTheLeaderStartOver() throws {
        var sending = SnapshotSending(to: member, shard: ShardID(1), term: Term(4), snapshot: snapshot(bytes: 5_000))
        _ = sending.chunks(chunkBytes: 1_000, windowBytes: 2_000)
        sending.acknowledge(received: 2_000)
        #expect(sending.acked == 2_000)
        sending.acknowledge(received: 0)
        #expect(sending.acked == 0 && sending.next == 0)
        #expect(sending.chunks(chunkBytes: 1_000, windowBytes: 2_000)?.first?.offset == 0)
    }

    @Test func chunksOfALargeImage_growOneBufferInPlace_neverACopyPerChunk() throws {
        var host = try ShardHost<ShardState>(id: member, seed: 1, epoch: 5)
        var sending = SnapshotSending(to: member, shard: ShardID(0), term: Term(4), snapshot: snapshot(bytes: 64 << 10))
        let chunks = sending.chunks(chunkBytes: 4 << 10, windowBytes: 1 << 20) ?? []
        #expect(chunks.count > 10)
        func buffer() -> UnsafePointer<UInt8>? { host.snapshotsIn[ShardID(0)]?.bytes.withUnsafeBufferPointer { $0.baseAddress } }
        host.receive(chunks[0], from: leader)
        let first = try #require(buffer())
        for c in chunks.dropFirst().dropLast() {
            host.receive(c, from: leader)
            #expect(buffer() == first, "chunk at \(c.offset) was appended to a copy of the image")
        }
        host.receive(try #require(chunks.last), from: leader)
        #expect(host.snapshotsIn[ShardID(0)]?.received == nil, "complete: handed to the group")
    }

    // MARK: between hosts

    /// Three nodes with one shard compacted often; a fourth joins and needs a snapshot.
    private func growing(chunkBytes: Int, windowBytes: Int, values: Int = 40, size: Int = 2_000) throws -> ShardTestCluster {
        var settings = ShardHostSettings()
        settings.snapshotEvery = 8
        settings.snapshotChunkBytes = chunkBytes
        settings.snapshotWindowBytes = windowBytes
        let c = try ShardTestCluster(nodes: 3, settings: settings, seed: 9)
        try c.bootstrap(on: n1, shards: 1)
        try c.setTargets([ShardID(0): [n1, n2, n3]])
        try #require(try c.run(maxTicks: 300) { c.isPlaced(ShardID(0), voters: [n1, n2, n3]) })
        let value = String(repeating: "s", count: size)
        for i in 0..<values {
            let t = UInt64(i + 1)
            _ = try c.withHost(n1) { try $0.propose(shard: ShardID(0), requestID: bytes("g\(i)"), command: put("k\(i)", value), token: t) }
            if i % 4 == 3 { try c.tick() }
        }
        try c.tick(3)
        try #require(c.host(n1).counters.snapshotsTaken > 0)
        return c
    }

    @Test func newReplica_receivesASnapshotLargerThanAFrame_inChunks_andEndsWithTheSameState() throws {
        let c = try growing(chunkBytes: 4 << 10, windowBytes: 16 << 10)
        c.maxFrameBytes = 24 << 10 // the 80 KB image could never travel as one message
        try c.add(n4)
        try c.setTargets([ShardID(0): [n1, n2, n3, n4]])
        let placed = try c.run(maxTicks: 300) { c.isPlaced(ShardID(0), voters: [n1, n2, n3, n4]) }
        #expect(placed)
        #expect(c.framesRefused == 0)
        #expect(c.host(n1).counters.snapshotChunksSent >= 20)
        #expect(c.host(n4).counters.snapshotsInstalled == 1)
        #expect(c.host(n4).machine(of: ShardID(0))?.values.count == 40)
        #expect(c.host(n4).machine(of: ShardID(0)) == c.host(n1).machine(of: ShardID(0)))
    }

    @Test func transferCutOffMidway_resumesAfterTheHeal_andCompletes() throws {
        let c = try growing(chunkBytes: 2 << 10, windowBytes: 4 << 10)
        c.roundsPerTick = 1 // one chunk window per tick, so the transfer takes many ticks
        try c.add(n4)
        try c.setTargets([ShardID(0): [n1, n2, n3, n4]])
        try #require(try c.run(maxTicks: 100) { c.host(n1).counters.snapshotChunksSent >= 6 })
        #expect(c.host(n4).counters.snapshotsInstalled == 0, "cut off before the image was whole")
        c.isolate(n4)
        try c.tick(30)
        c.recover()
        let placed = try c.run(maxTicks: 400) { c.isPlaced(ShardID(0), voters: [n1, n2, n3, n4]) }
        #expect(placed)
        #expect(c.host(n4).machine(of: ShardID(0))?.values.count == 40)
        #expect(c.host(n1).counters.snapshotsSent == 1, "one transfer, resumed, not restarted by the core's resends")
    }
}
