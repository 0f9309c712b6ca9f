import ChorusBase
import ChorusStorage
import ChorusWire
import Testing
@testable import ChorusQueue

/// The disk body store: bodies come back as put, survive a crash once checkpointed, a torn
/// tail is cut and damage elsewhere refused, and disk use follows the live bytes — with one
/// message never acked while many pass, the log stays flat.
@Suite struct BodyLogTests {
    static let dir = "/data/q/orders-0"

    static func body(_ offset: UInt64, _ size: Int = 100) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: Int(offset) &* 31 &+ $0) }
    }

    static func open(_ fs: MemoryFileSystem, segmentBytes: Int = 4096, buffer: Int = 512) throws -> SegmentBodyStore {
        try SegmentBodyStore(directory: dir, fileSystem: fs,
                             settings: BodyLogSettings(segmentBytes: segmentBytes, writeBufferBytes: buffer))
    }

    static func segmentPaths(_ fs: MemoryFileSystem) -> [String] {
        ((try? fs.listDirectory(at: dir)) ?? []).filter { SegmentName.parse($0) != nil }.map { dir + "/" + $0 }
    }

    @Test func bodiesComeBackAsPutFromBufferAndFile() throws {
        let fs = MemoryFileSystem()
        let store = try Self.open(fs)
        for o in UInt64(1)...200 { store.put(Self.body(o, Int(o)), at: o) }
        for o in UInt64(1)...200 {
            #expect(store.body(at: o) == Self.body(o, Int(o)))
            #expect(store.bodyBytes(at: o) == Int(o))
        }
        for o in stride(from: UInt64(1), through: 200, by: 2) { store.remove(o) }
        #expect(store.body(at: 1) == nil && store.bodyBytes(at: 3) == nil)
        #expect(store.body(at: 2) == Self.body(2, 2))
        #expect(store.statistics.liveBodies == 100)
        #expect(store.statistics.segments > 2, "small segments roll")
        #expect(store.failure == nil)
    }

    @Test func checkpointedBodiesSurviveACrash() throws {
        let fs = MemoryFileSystem()
        let store = try Self.open(fs)
        for o in UInt64(1)...300 { store.put(Self.body(o), at: o) }
        for o in UInt64(1)...100 { store.remove(o) }
        _ = try store.checkpoint()
        for o in UInt64(301)...320 { store.put(Self.body(o), at: o) } // not checkpointed
        fs.crash()
        let again = try Self.open(fs)
        for o in UInt64(101)...300 { #expect(again.body(at: o) == Self.body(o)) }
        // Unsynced bodies may be gone, but whatever is found is the body put there.
        for o in UInt64(301)...320 { if let b = again.body(at: o) { #expect(b == Self.body(o)) } }
        // Removed bodies may still be indexed until the restored partition says which live.
        again.retain(only: { (101...300).contains($0) })
        #expect(again.statistics.liveBodies == 200)
        #expect(again.body(at: 5) == nil)
        // A replayed publish is idempotent.
        again.put(Self.body(150), at: 150)
        #expect(again.statistics.liveBodies == 200 && again.body(at: 150) == Self.body(150))
    }

    @Test func deadSegmentsGoOnlyAtRelease() throws {
        let fs = MemoryFileSystem()
        let store = try Self.open(fs)
        for o in UInt64(1)...200 { store.put(Self.body(o), at: o) }
        let first = Self.segmentPaths(fs).sorted()[0]
        for o in UInt64(1)...200 { store.remove(o) }
        let cp = try store.checkpoint()
        #expect(!cp.deadSegments.isEmpty)
        #expect(fs.contents(of: first) != nil, "not deleted before the snapshot is durable")
        try store.release(cp)
        #expect(fs.contents(of: first) == nil)
        #expect(Self.segmentPaths(fs).count == 1, "only the active segment is left")
    }

    @Test func tornTailIsCutAndCheckpointedBodiesKept() throws {
        for seed in UInt64(1)...20 {
            let fs = MemoryFileSystem()
            let store = try Self.open(fs, segmentBytes: 1 << 20)
            for o in UInt64(1)...50 { store.put(Self.body(o), at: o) }
            _ = try store.checkpoint()
            for o in UInt64(51)...90 { store.put(Self.body(o), at: o) }
            store.close() // writes the buffer, without fsync
            var rng = SeededRandom(seed: seed)
            fs.crash(tearingAppends: &rng)
            let again = try Self.open(fs, segmentBytes: 1 << 20)
            for o in UInt64(1)...50 { #expect(again.body(at: o) == Self.body(o), "seed \(seed) offset \(o)") }
            for o in UInt64(51)...90 { if let b = again.body(at: o) { #expect(b == Self.body(o)) } }
            // The cut was made durable: a second crash and restart finds the same.
            let found = again.statistics.liveBodies
            again.close()
            fs.crash()
            #expect(try Self.open(fs, segmentBytes: 1 << 20).statistics.liveBodies == found)
        }
    }

    @Test func damageInASealedSegmentIsRefusedNotCut() throws {
        let fs = MemoryFileSystem()
        let store = try Self.open(fs)
        for o in UInt64(1)...200 { store.put(Self.body(o), at: o) }
        _ = try store.checkpoint()
        store.close()
        let paths = Self.segmentPaths(fs).sorted()
        #expect(paths.count >= 3)
        var damaged = try #require(fs.contents(of: paths[0]))
        damaged[BodyLogFrame.headerBytes + 20] ^= 0x40
        fs.setContents(of: paths[0], to: damaged)
        #expect(throws: StorageError.self) { try Self.open(fs) }
        do { _ = try Self.open(fs) } catch let error as StorageError {
            guard case let .corruptSegment(file, _, reason) = error else { Issue.record("\(error)"); return }
            #expect(file == paths[0] && reason.contains("checksum"))
        }
    }

    @Test func damageInTheLastSegmentIsCut() throws {
        let fs = MemoryFileSystem()
        let store = try Self.open(fs, segmentBytes: 1 << 20)
        for o in UInt64(1)...20 { store.put(Self.body(o), at: o) }
        _ = try store.checkpoint()
        store.close()
        let path = try #require(Self.segmentPaths(fs).sorted().last)
        var bytes = try #require(fs.contents(of: path))
        let tenth = BodyLogFrame.headerBytes + 9 * (BodyLogFrame.recordHeaderBytes + 100)
        bytes[tenth + 30] ^= 1
        fs.setContents(of: path, to: bytes)
        let again = try Self.open(fs, segmentBytes: 1 << 20)
        #expect(again.recoveryCut?.contains("checksum") == true)
        #expect(again.statistics.liveBodies == 9)
        for o in UInt64(1)...9 { #expect(again.body(at: o) == Self.body(o)) }
    }

    @Test func foreignAndRandomFilesNeverTrap() throws {
        var rng = SeededRandom(seed: 7)
        var refused = 0, opened = 0
        for round in 0..<300 {
            let fs = MemoryFileSystem()
            let store = try Self.open(fs, segmentBytes: 1 << 16)
            for o in UInt64(1)...30 { store.put(Self.body(o, Int.random(in: 0...300, using: &rng)), at: o) }
            _ = try store.checkpoint()
            store.close()
            for path in Self.segmentPaths(fs) {
                var b = fs.contents(of: path) ?? []
                switch round % 3 {
                case 0: for _ in 0..<Int.random(in: 1...8, using: &rng) where !b.isEmpty { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                case 1: b = (0..<Int.random(in: 0...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                default: b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
                }
                fs.setContents(of: path, to: b)
                // The windowed scan recovery uses agrees with a scan of the whole bytes.
                let window = Int.random(in: 1...64, using: &rng)
                let windowed = BodyLogFrame.scan(size: b.count, maxBodyBytes: QueueSettings.messageBytesCeiling, windowBytes: window) { at, count in
                    at >= b.count ? [] : Array(b[at..<min(b.count, at + count)])
                }
                #expect(windowed == BodyLogFrame.scan(b, maxBodyBytes: QueueSettings.messageBytesCeiling), "window \(window)")
            }
            do {
                let again = try Self.open(fs, segmentBytes: 1 << 16)
                opened += 1
                // Whatever is indexed reads back with its indexed size.
                for o in UInt64(1)...30 { if let n = again.bodyBytes(at: o) { #expect(again.body(at: o)?.count == n) } }
            } catch {
                refused += 1
            }
        }
        #expect(refused > 0 && opened > 0)
    }

    @Test func oneMessageNeverAckedWhileManyPassKeepsDiskFlat() throws {
        let fs = MemoryFileSystem()
        let segment = 64 << 10
        let store = try SegmentBodyStore(directory: Self.dir, fileSystem: fs, settings: BodyLogSettings(segmentBytes: segment))
        let old = Self.body(0, 1024)
        store.put(old, at: 1) // never acked
        var inFlight: [UInt64] = []
        var peak = 0, peakFirstHalf = 0
        let total = 30_000, window = 100, checkpointEvery = 500
        for n in 0..<total {
            let o = UInt64(n + 2)
            store.put(Self.body(o, 1024), at: o)
            inFlight.append(o)
            if inFlight.count > window { store.remove(inFlight.removeFirst()) }
            if n % checkpointEvery == checkpointEvery - 1 {
                let cp = try store.checkpoint()
                try store.release(cp) // the snapshot after the checkpoint is durable
            }
            let bytes = store.statistics.fileBytes
            peak = max(peak, bytes)
            if n < total / 2 { peakFirstHalf = peak }
        }
        // ~30 MiB passed. Live: 101 KiB. Disk: live / 0.9, a checkpoint interval of dead bodies
        // waiting for release (500 KiB), and the active and newest sealed segments.
        let bound = 101 * 1024 * 10 / 9 + checkpointEvery * 1040 + 3 * segment
        #expect(peak <= bound, "peak \(peak) bytes, bound \(bound)")
        #expect(peak <= peakFirstHalf, "disk use grew in the second half: \(peakFirstHalf) then \(peak)")
        #expect(store.body(at: 1) == old)
        #expect(Self.segmentPaths(fs).allSatisfy { !$0.hasSuffix(SegmentName.name(1)) }, "the first segment was compacted away")
        _ = try store.checkpoint()
        fs.crash()
        let again = try SegmentBodyStore(directory: Self.dir, fileSystem: fs, settings: BodyLogSettings(segmentBytes: segment))
        #expect(again.body(at: 1) == old)
    }

    @Test func partitionRestoresFromAnExternalSnapshotAndTheBodyLog() throws {
        let fs = MemoryFileSystem()
        var s = QueueSettings()
        s.partitions = 1
        let id = PartitionID(queue: queue("orders"), index: 0)
        var p = try QueuePartition(partition: id, incarnation: 1, settings: s, bodies: try Self.open(fs))
        var index: UInt64 = 0
        func apply(_ c: QueueCommand) -> QueueReply {
            index += 1
            return p.apply(encoded: QueueCodec.encode(QueueEntry(nowMillis: 1_000_000 + index, command: c)), index: index)
        }
        for i in 0..<20 { _ = apply(.publish((0..<10).map { OutgoingMessage(body: bytes("m\(i)-\($0)")) })) }
        guard case let .delivered(first) = apply(.fetch(consumer: consumer("c"), maxMessages: 150, maxBytes: 0, visibilityMillis: 60_000)) else {
            Issue.record("no deliveries"); return
        }
        _ = apply(.ack(first.map(\.receipt)))
        let cp = try p.bodies.checkpoint()
        let image = p.snapshot(bodies: .external)
        try p.bodies.release(cp)
        // After the snapshot: acks and publishes only in the (replayed) Raft log.
        fs.crash()
        let store = try Self.open(fs)
        var restored = try QueuePartition(snapshot: image, bodies: store)
        restored.bodies.retain(only: restored.holdsMessage)
        #expect(restored.invariantViolations().isEmpty)
        #expect(restored.stats.messages == 50)
        #expect(store.statistics.liveBodies == 50)
        guard case let .delivered(rest) = restored.apply(encoded: QueueCodec.encode(QueueEntry(nowMillis: 9_000_000, command:
            .fetch(consumer: consumer("d"), maxMessages: 100, maxBytes: 0, visibilityMillis: 60_000))), index: index + 1) else {
            Issue.record("no deliveries after restore"); return
        }
        #expect(rest.map { String(decoding: $0.body, as: UTF8.self) } == (15..<20).flatMap { i in (0..<10).map { "m\(i)-\($0)" } })
        // A body the image needs is gone: the image is refused, not trusted.
        let emptyFS = MemoryFileSystem()
        #expect(throws: WireError.self) { try QueuePartition(snapshot: image, bodies: try Self.open(emptyFS)) }
    }
}

extension BodyLogTests {
    /// What a joining replica does with the inline image it is sent: the bodies go into its
    /// own body log, and from then on its local snapshots are external and survive a crash.
    @Test func aJoiningReplicaPutsInlineBodiesIntoItsOwnLogAndRecovers() throws {
        var s = QueueSettings()
        s.partitions = 1
        let id = PartitionID(queue: queue("orders"), index: 0)
        var leader = try QueuePartition(partition: id, incarnation: 1, settings: s, bodies: MemoryBodyStore())
        for i in 0..<30 {
            _ = leader.apply(encoded: QueueCodec.encode(QueueEntry(nowMillis: 1_000 + UInt64(i), command:
                .publish((0..<10).map { OutgoingMessage(body: Array("b\(i)-\($0)".utf8) + BodyLogTests.body(UInt64(i), 200)) }))),
                             index: UInt64(i + 1))
        }
        let sent = leader.snapshot() // inline
        let fs = MemoryFileSystem()
        let joined = try QueuePartition(snapshot: sent, bodies: try Self.open(fs))
        #expect(joined.digest() == leader.digest())
        let cp = try joined.bodies.checkpoint()
        let local = joined.snapshot(bodies: .external)
        try joined.bodies.release(cp)
        #expect(local.count < sent.count / 4, "the local snapshot carries no bodies")
        fs.crash()
        let restored = try QueuePartition(snapshot: local, bodies: try Self.open(fs))
        restored.bodies.retain(only: restored.holdsMessage)
        #expect(restored.digest() == leader.digest())
        #expect(restored.invariantViolations().isEmpty)
    }

    @Test func theLastPossibleSegmentNumberIsRefusedNotOverflowed() throws {
        let fs = MemoryFileSystem()
        _ = try fs.createDirectory(at: Self.dir)
        fs.setContents(of: Self.dir + "/" + SegmentName.name(.max), to: BodyLogFrame.header())
        #expect(throws: StorageError.self) { try Self.open(fs) }
        // One below: opens, and the first roll is refused (failure), not a trap.
        let fs2 = MemoryFileSystem()
        _ = try fs2.createDirectory(at: Self.dir)
        fs2.setContents(of: Self.dir + "/" + SegmentName.name(.max - 1), to: BodyLogFrame.header())
        let store = try Self.open(fs2)
        for o in UInt64(1)...100 { store.put(Self.body(o), at: o) }
        #expect(store.failure != nil)
    }

    @Test func destroyRemovesEverySegmentAndAPutOfAnotherSizeReplaces() throws {
        let fs = MemoryFileSystem()
        let store = try Self.open(fs)
        for o in UInt64(1)...100 { store.put(Self.body(o), at: o) }
        store.put([9, 9], at: 7)
        #expect(store.body(at: 7) == [9, 9] && store.statistics.liveBodies == 100)
        store.close()
        try SegmentBodyStore.destroy(directory: Self.dir, fileSystem: fs)
        #expect(Self.segmentPaths(fs).isEmpty)
        #expect(try Self.open(fs).statistics.liveBodies == 0)
    }
}

/// A file system whose writes and fsyncs start failing on demand (a disk gone bad).
final class FailingFileSystem: FileSystem {
    let inner = MemoryFileSystem()
    var failing = false

    final class File: StorageFile {
        let inner: any StorageFile
        unowned let owner: FailingFileSystem
        init(_ inner: any StorageFile, _ owner: FailingFileSystem) { self.inner = inner; self.owner = owner }
        var path: String { inner.path }
        func size() throws(StorageError) -> Int { try inner.size() }
        func read(at offset: Int, count: Int) throws(StorageError) -> [UInt8] { try inner.read(at: offset, count: count) }
        func write(_ bytes: [UInt8], at offset: Int) throws(StorageError) {
            if owner.failing { throw .io(operation: "pwrite", path: path, errno: 5) }
            try inner.write(bytes, at: offset)
        }
        func sync() throws(StorageError) {
            if owner.failing { throw .io(operation: "fsync", path: path, errno: 5) }
            try inner.sync()
        }
        func truncate(to size: Int) throws(StorageError) { try inner.truncate(to: size) }
        func close() { inner.close() }
    }

    func createDirectory(at path: String) throws(StorageError) -> Bool { try inner.createDirectory(at: path) }
    func listDirectory(at path: String) throws(StorageError) -> [String] { try inner.listDirectory(at: path) }
    func openFile(at path: String, mode: FileOpenMode) throws(StorageError) -> any StorageFile { File(try inner.openFile(at: path, mode: mode), self) }
    func removeFile(at path: String) throws(StorageError) { try inner.removeFile(at: path) }
    func renameFile(at path: String, to newPath: String) throws(StorageError) { try inner.renameFile(at: path, to: newPath) }
    func syncDirectory(at path: String) throws(StorageError) { try inner.syncDirectory(at: path) }
}

@Suite struct BodyLogFailureTests {
    @Test func aFailedWriteStopsTheStoreAndEveryLaterCheckpointThrows() throws {
        let fs = FailingFileSystem()
        let store = try SegmentBodyStore(directory: BodyLogTests.dir, fileSystem: fs,
                                         settings: BodyLogSettings(segmentBytes: 4096, writeBufferBytes: 512))
        for o in UInt64(1)...10 { store.put(BodyLogTests.body(o), at: o) }
        _ = try store.checkpoint()
        #expect(store.failure == nil)
        fs.failing = true
        for o in UInt64(11)...40 { store.put(BodyLogTests.body(o), at: o) }
        #expect(store.failure != nil, "the buffer's write failed")
        fs.failing = false // the disk "recovers": what was lost is still unknown
        #expect(throws: StorageError.self) { _ = try store.checkpoint() }
        #expect(throws: StorageError.self) { try store.release(BodyLogCheckpoint(deadSegments: [])) }
        // Checkpointed bodies are still readable; recovery from disk sees them.
        for o in UInt64(1)...10 { #expect(store.body(at: o) == BodyLogTests.body(o)) }
        fs.inner.crash()
        let again = try SegmentBodyStore(directory: BodyLogTests.dir, fileSystem: fs.inner)
        for o in UInt64(1)...10 { #expect(again.body(at: o) == BodyLogTests.body(o)) }
    }

    @Test func aBodyAboveTheLimitRecoveryBelievesIsRefused() throws {
        let fs = MemoryFileSystem()
        let store = try SegmentBodyStore(directory: BodyLogTests.dir, fileSystem: fs, settings: BodyLogSettings(maxBodyBytes: 100))
        store.put([UInt8](repeating: 1, count: 100), at: 1)
        #expect(store.failure == nil)
        store.put([UInt8](repeating: 1, count: 101), at: 2)
        #expect(store.failure == .recordTooLarge(bytes: 101, limit: 100))
        #expect(throws: StorageError.self) { _ = try store.checkpoint() }
    }

    @Test func aFailedFsyncAtCheckpointIsReported() throws {
        let fs = FailingFileSystem()
        let store = try SegmentBodyStore(directory: BodyLogTests.dir, fileSystem: fs)
        store.put([1, 2, 3], at: 1)
        fs.failing = true
        #expect(throws: StorageError.self) { _ = try store.checkpoint() }
        fs.failing = false
        #expect(throws: StorageError.self) { _ = try store.checkpoint() }
    }
}
