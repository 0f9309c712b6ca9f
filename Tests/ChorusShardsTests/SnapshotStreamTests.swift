import ChorusBase
import ChorusQueue
import ChorusRaft
import ChorusRing
import ChorusStorage
import ChorusWire
import Testing
@testable import ChorusShards

/// Streamed snapshots of a shard whose queue bodies are on disk: the sender's records image,
/// manifest and bodies read from pinned body-log segments; the receiver's bodies written into
/// its own body log as they arrive, checked before they are taken, and an install from the
/// records image that equals the sender's state.
@Suite struct SnapshotStreamTests {
    let leader = NodeID(1)
    let shard = ShardID(2)
    let orders = try! QueueName("orders")
    let meta = SnapshotMetadata(index: LogIndex(90), term: Term(3), configuration: Configuration(voters: [NodeID(1), NodeID(2)]))

    func stores(_ fs: any FileSystem, root: String) -> ShardBodyStores {
        .disk(root: root, fileSystem: fs, settings: BodyLogSettings(segmentBytes: 4 << 10, writeBufferBytes: 1 << 10))
    }

    func command(_ command: QueueCommand, index: UInt16) -> [UInt8] {
        var s = QueueSettings(); s.partitions = 2
        return ShardCommand.queue(.partition(PartitionID(queue: orders, index: index), incarnation: 1, settings: s,
                                             entry: QueueEntry(nowMillis: 1_000, command: command))).encoded()
    }

    static func body(_ i: Int) -> [UInt8] { (0..<(200 + i % 300)).map { UInt8(truncatingIfNeeded: i &* 13 &+ $0) } }

    /// A sender state with 80 messages over two partitions (one of them 0 bytes), 20 acked.
    func sender(_ fs: MemoryFileSystem) throws -> ShardState {
        var s = ShardState(shard: shard, bodyStores: stores(fs, root: "/a"))
        var index: UInt64 = 1
        for i in 0..<80 {
            let body = i == 5 ? [] : Self.body(i)
            _ = s.apply(command(.publish([OutgoingMessage(body: body)]), index: UInt16(i % 2)), at: LogIndex(index)); index += 1
        }
        let fetched = try QueueCodec.decodeReply(s.apply(command(.fetch(consumer: try ConsumerID("c"), maxMessages: 20, maxBytes: 0,
                                                                          visibilityMillis: 60_000), index: 0), at: LogIndex(index)))
        index += 1
        guard case let .delivered(d) = fetched else { Issue.record("not delivered: \(fetched)"); return s }
        _ = s.apply(command(.ack(d.map(\.receipt)), index: 0), at: LogIndex(index))
        return s
    }

    func sending(_ state: ShardState) throws -> SnapshotSending {
        let stream = try #require(state.snapshotStream())
        #expect(stream.bodies != nil)
        return SnapshotSending(to: NodeID(2), shard: shard, term: Term(4), snapshot: Snapshot(metadata: meta, data: stream.image),
                               bodies: stream.bodies)
    }

    /// Chunks from `out` to `into`, answers back; drops the chunks numbered in `lose` and
    /// hands `edit` each chunk first. Returns the outcome that ended the transfer.
    func run(_ out: inout SnapshotSending, into receiver: inout ShardState, lose: Set<Int> = [], chunk: Int = 1_000,
             maxHeadBytes: Int = 1 << 30, edit: (inout SnapshotChunk) -> Void = { _ in }) -> SnapshotReceiving.Outcome? {
        var receiving: SnapshotReceiving?
        var position = 0
        for _ in 0..<500 {
            let chunks = out.chunks(chunkBytes: chunk, windowBytes: 4 * chunk) ?? []
            if chunks.isEmpty { out.tick(resendTicks: 2) }
            for var c in chunks {
                defer { position += 1 }
                if lose.contains(position) { continue }
                edit(&c)
                if receiving == nil, c.offset == 0 { receiving = SnapshotReceiving(from: leader, first: c, maxHeadBytes: maxHeadBytes) }
                guard var r = receiving, r.matches(c, from: leader) else { continue }
                let outcome = r.receive(c, limits: .stored) { m in
                    m.parts.map { try? receiver.incomingBodies(partition: $0.partition, incarnation: $0.incarnation) }.compactMap { $0 }
                }
                receiving = r
                out.acknowledge(received: r.received)
                switch outcome {
                case .pending: continue
                case .complete, .damaged: return outcome
                }
            }
        }
        return nil
    }

    /// The receiver installs what arrived the way the host does: its files closed, the state
    /// restored from the records image over the body logs the stream filled.
    func install(_ outcome: SnapshotReceiving.Outcome?, over receiver: ShardState, fs: MemoryFileSystem) throws -> ShardState {
        guard case let .complete(snapshot) = outcome else { Issue.record("not complete: \(String(describing: outcome))"); throw CancellationError() }
        #expect(snapshot.metadata == meta)
        receiver.closeFiles(discard: false)
        return try ShardState(shard: shard, image: snapshot.data, bodyStores: stores(fs, root: "/b"))
    }

    @Test func streamedSnapshot_roundTrip_equalsTheInlineImagesState_andHoldsNoBodiesInMemory() throws {
        let fa = MemoryFileSystem(), fb = MemoryFileSystem()
        let a = try sender(fa)
        var out = try sending(a)
        let bodyBytes = try #require(out.bodies).bodyBytes
        #expect(bodyBytes > 10_000)
        #expect(out.heldBytes < bodyBytes / 4, "the sender holds the records image, not the bodies")
        var b = ShardState(shard: shard, bodyStores: stores(fb, root: "/b"))
        var peak = 0
        var receiving: SnapshotReceiving?
        var outcome: SnapshotReceiving.Outcome?
        while outcome == nil {
            for c in out.chunks(chunkBytes: 1_000, windowBytes: 4_000) ?? [] {
                if receiving == nil { receiving = SnapshotReceiving(from: leader, first: c) }
                guard var r = receiving else { continue }
                let o = r.receive(c, limits: .stored) { m in m.parts.compactMap { try? b.incomingBodies(partition: $0.partition, incarnation: $0.incarnation) } }
                receiving = r
                peak = max(peak, r.peakBytes)
                out.acknowledge(received: r.received)
                if o != .pending { outcome = o }
            }
        }
        #expect(peak < out.heldBytes + 1_000, "the receiver holds the head and one body, never the bodies")
        let restored = try install(outcome, over: b, fs: fb)
        #expect(restored == a)
        #expect(restored.image() == a.image(), "the same state as the inline image gives")
        #expect(restored.queues.partitions.values.allSatisfy { $0.bodies.disk != nil })
        restored.closeFiles(discard: false)
    }

    /// The body section reads the same in any pieces (a chunk may start or end inside a body
    /// or its checksum, and a rewind resends from anywhere): each body, then its CRC-32C.
    @Test func bodyStream_readsTheSameBytesInAnyPieces_eachBodyFollowedByItsChecksum() throws {
        let a = try sender(MemoryFileSystem())
        let out = try sending(a)
        let stream = try #require(out.bodies)
        let whole = try #require(stream.read(from: 0, to: stream.bodyBytes))
        #expect(whole.count == stream.bodyBytes)
        var rng = SeededRandom(seed: 3)
        for _ in 0..<300 {
            let from = Int(rng.next() % UInt64(stream.bodyBytes))
            let to = min(stream.bodyBytes, from + Int(rng.next() % 900))
            #expect(stream.read(from: from, to: to) == Array(whole[from..<to]), "bytes \(from)..<\(to)")
        }
        let first = try #require(stream.manifest.parts.first?.bodies.first)
        let body = Array(whole[0..<first.bytes])
        #expect(body == a.queues.partitions[PartitionID(queue: orders, index: 0)]?.bodies.body(at: first.offset))
        let crc = whole[first.bytes..<first.bytes + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(crc == CRC32C.checksum(body))
    }

    /// 2,000 × 4 KiB of bodies (8 MiB) through 64 KiB chunks: the leader holds the records
    /// image and manifest, the member at most that and one chunk — neither grows with the bodies.
    @Test func aLargerBacklog_neitherEndHoldsTheBodies() throws {
        let fa = MemoryFileSystem(), fb = MemoryFileSystem()
        var a = ShardState(shard: shard, bodyStores: .disk(root: "/a", fileSystem: fa))
        for i in 0..<2_000 {
            let body = (0..<4_096).map { UInt8(truncatingIfNeeded: i &+ $0 &* 7) }
            _ = a.apply(command(.publish([OutgoingMessage(body: body)]), index: UInt16(i % 2)), at: LogIndex(UInt64(i + 1)))
        }
        var out = try sending(a)
        let bodyBytes = try #require(out.bodies).bodyBytes
        #expect(bodyBytes > 8_000_000)
        #expect(out.heldBytes < 200_000, "the leader holds \(out.heldBytes) bytes")
        var b = ShardState(shard: shard, bodyStores: .disk(root: "/b", fileSystem: fb))
        var receiving: SnapshotReceiving?
        var outcome: SnapshotReceiving.Outcome?
        while outcome == nil {
            for c in out.chunks(chunkBytes: 64 << 10, windowBytes: 256 << 10) ?? [] {
                if receiving == nil { receiving = SnapshotReceiving(from: leader, first: c) }
                guard var r = receiving else { continue }
                let o = r.receive(c, limits: .stored) { m in m.parts.compactMap { try? b.incomingBodies(partition: $0.partition, incarnation: $0.incarnation) } }
                receiving = r
                out.acknowledge(received: r.received)
                if o != .pending { outcome = o }
            }
        }
        let peak = try #require(receiving).peakBytes
        #expect(peak <= out.heldBytes + (64 << 10), "the member held \(peak) bytes at once")
        b.closeFiles(discard: false)
        let restored = try ShardState(shard: shard, image: try #require({ if case let .complete(s) = outcome { s.data } else { nil } }()),
                                      bodyStores: .disk(root: "/b", fileSystem: fb))
        #expect(restored == a)
        restored.closeFiles(discard: false); a.closeFiles(discard: false)
    }

    @Test func streamCutMidBodies_resumesFromWhatTheMemberHolds_andARestartedMemberTakesItAgain() throws {
        let fa = MemoryFileSystem(), fb = MemoryFileSystem()
        let a = try sender(fa)
        var out = try sending(a)
        var b = ShardState(shard: shard, bodyStores: stores(fb, root: "/b"))
        // Chunk 12 is well inside the bodies (the head is a few kilobytes).
        #expect(out.headBytes < 12 * 1_000)
        let outcome = run(&out, into: &b, lose: [12, 13])
        #expect(out.resentBytes > 0)
        let restored = try install(outcome, over: b, fs: fb)
        #expect(restored == a)

        // A member that lost its copy midway (it restarted) takes the same stream from the
        // start: bodies it already wrote are the same bodies, and the result is the same.
        var again = try sending(a)
        let fc = MemoryFileSystem()
        var c = ShardState(shard: shard, bodyStores: stores(fc, root: "/b"))
        _ = run(&again, into: &c, lose: Set(30..<2_000))
        c.closeFiles(discard: false)
        c = ShardState(shard: shard, bodyStores: stores(fc, root: "/b"))
        var fresh = try sending(a)
        let restoredAgain = try install(run(&fresh, into: &c), over: c, fs: fc)
        #expect(restoredAgain == a)
        restored.closeFiles(discard: false); restoredAgain.closeFiles(discard: false)
    }

    /// The member's snapshot size limit holds what it keeps in memory and stores (the head),
    /// not the bodies, which go to its body logs.
    @Test func sizeLimit_countsTheHeadNotTheBodies() throws {
        let fa = MemoryFileSystem()
        let a = try sender(fa)
        var out = try sending(a)
        let head = out.headBytes
        #expect(head + 1_000 < out.imageBytes)
        let fb = MemoryFileSystem()
        var b = ShardState(shard: shard, bodyStores: stores(fb, root: "/b"))
        let taken = run(&out, into: &b, maxHeadBytes: head)
        #expect(try install(taken, over: b, fs: fb) == a)
        var again = try sending(a)
        let fc = MemoryFileSystem()
        var c = ShardState(shard: shard, bodyStores: stores(fc, root: "/b"))
        let refused = run(&again, into: &c, maxHeadBytes: head - 1)
        guard case let .damaged(reason) = refused else { Issue.record("taken: \(String(describing: refused))"); return }
        #expect(reason.contains("above the"))
        c.closeFiles(discard: false)
    }

    @Test func corruptChunk_isRefused_inTheHeadOrInABody_andTheBadBodyIsNeverWritten() throws {
        let fa = MemoryFileSystem()
        let a = try sender(fa)
        var out = try sending(a)
        let head = out.headBytes
        let fb = MemoryFileSystem()
        var b = ShardState(shard: shard, bodyStores: stores(fb, root: "/b"))
        let inHead = run(&out, into: &b) { c in if c.offset == 0 { c.bytes[c.bytes.count / 2] ^= 0x40 } }
        #expect(inHead == .damaged("checksum mismatch"))

        // A byte flipped in the first body: refused before it reaches the body log.
        var again = try sending(a)
        let fc = MemoryFileSystem()
        var c = ShardState(shard: shard, bodyStores: stores(fc, root: "/b"))
        let target = UInt64(head + 10)
        let inBody = run(&again, into: &c) { chunk in
            if chunk.offset <= target, target < chunk.offset + UInt64(chunk.bytes.count) { chunk.bytes[Int(target - chunk.offset)] ^= 0x01 }
        }
        guard case let .damaged(reason) = inBody else { Issue.record("not refused: \(String(describing: inBody))"); return }
        #expect(reason.contains("checksum mismatch in the body"))
        let firstPartition = try #require(a.queues.partitions.keys.sorted().first)
        let first = try #require(a.queues.partitions[firstPartition]?.liveOffsets.first)
        let store = try #require(try c.incomingBodies(partition: firstPartition, incarnation: 1))
        #expect(store.bodyBytes(at: first) == nil, "the damaged body was not written")
        c.closeFiles(discard: false)
    }

    @Test func pinnedSegments_outliveAcksCompactionAndRelease_untilTheStreamGoes() throws {
        let fa = MemoryFileSystem()
        var a = try sender(fa)
        var out = try sending(a)
        let expected = out.bodies?.read(from: 0, to: out.bodies?.bodyBytes ?? 0)
        #expect(expected != nil)
        let id = PartitionID(queue: orders, index: 1)
        let disk = try #require(a.queues.partitions[id]?.bodies.disk)
        let before = disk.statistics.segments
        // Everything in partition 1 is fetched and acked; checkpoints and releases follow.
        var index: UInt64 = 200
        let fetched = try QueueCodec.decodeReply(a.apply(command(.fetch(consumer: try ConsumerID("c"), maxMessages: 100, maxBytes: 0,
                                                                          visibilityMillis: 60_000), index: 1), at: LogIndex(index)))
        index += 1
        guard case let .delivered(d) = fetched else { Issue.record("not delivered"); return }
        _ = a.apply(command(.ack(d.map(\.receipt)), index: 1), at: LogIndex(index))
        for _ in 0..<2 { try a.release(try #require(try a.localImage().checkpoint)) }
        #expect(before > 2)
        #expect(disk.statistics.segments >= before, "pinned segments stay")
        #expect(out.bodies?.read(from: 0, to: out.bodies?.bodyBytes ?? 0) == expected, "the stream still reads the snapshot's bodies")
        let fb = MemoryFileSystem()
        var b = ShardState(shard: shard, bodyStores: stores(fb, root: "/b"))
        #expect(run(&out, into: &b).map { if case .complete = $0 { true } else { false } } == true)
        b.closeFiles(discard: false)
        out = SnapshotSending(to: NodeID(2), shard: shard, term: Term(4), snapshot: Snapshot(metadata: meta, data: [])) // the stream's last reference goes
        for _ in 0..<2 { try a.release(try #require(try a.localImage().checkpoint)) }
        #expect(disk.statistics.segments < before, "unpinned, the dead segments go")
    }
}
