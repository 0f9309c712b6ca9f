import ChorusStorage
import ChorusWire

/// Message bodies on disk: one partition replica's append-only body log (`BodyLogFrame`
/// segments in its own directory), an in-memory index from live offset to where its body
/// sits, and per-segment live counts, so that disk use follows the live bytes rather than the
/// bytes ever published (`docs/queue.md`, "Storage past memory, and truncation").
///
/// Durability: `put` does not fsync (until a snapshot covers a body, its publish is also in
/// the fsynced Raft log and a replay puts it again). `checkpoint()` compacts mostly-dead
/// segments, then fsyncs the log and the directory; the driver calls it *before* it writes a
/// snapshot with `.external` bodies, and `release(_:)` *after* that snapshot is durable, which
/// deletes the segments that were dead at the checkpoint (the previous snapshot may still name
/// their bodies until then). The checkpoint and the snapshot must be of the same applied
/// index: no `apply` between them. After a crash, `init` rebuilds the index by scanning the
/// segments (a 1 MiB window at a time): a damaged tail of the last segment (written after its
/// last fsync) is cut; damage anywhere else throws `StorageError.corruptSegment`. The index
/// then also holds bodies that were removed after the last checkpoint; the driver drops them
/// with `retain(only:)` once the partition is restored and replayed.
///
/// Invariants: `body(at:)` returns exactly the bytes put at that offset and not removed since;
/// a segment's live count is the number of index entries pointing into it; the active segment
/// is never deleted; a segment is deleted only by `release` of a checkpoint taken when it had
/// no live body, and never while a `BodyLogPin` holds it (a snapshot streamed to a member
/// still reads it; the next checkpoint after the pin is gone finds it dead again). After a write or fsync fails, `failure` is set and every later `checkpoint`
/// throws it: the driver must stop the node (what is on disk is unknown), never ack past it.
public final class SegmentBodyStore: MessageBodyStore {
    /// Where a body sits: its segment, its first byte in that file, its size.
    struct Location: Hashable, Sendable {
        var segment: UInt64
        var position: UInt32
        var bytes: UInt32
    }

    /// One segment file and what the index holds in it.
    final class Segment {
        let number: UInt64
        let file: any StorageFile
        /// The file's size including bytes still in the write buffer.
        var fileBytes: Int
        var bodyBytes = 0
        var liveCount = 0
        var liveBytes = 0
        /// Offsets ever indexed here (some since removed or moved): what compaction visits.
        var offsets: [UInt64] = []
        init(number: UInt64, file: any StorageFile, fileBytes: Int) {
            self.number = number; self.file = file; self.fileBytes = fileBytes
        }
    }

    public let directory: String
    public let settings: BodyLogSettings
    private let fileSystem: any FileSystem
    private var index: [UInt64: Location] = [:]
    private var segments: [UInt64: Segment] = [:]
    private var active: Segment
    /// Appended bytes not yet written; they start at `bufferStart` in the active segment.
    private var buffer: [UInt8] = []
    private var bufferStart: Int
    private var directoryDirty = false
    /// Segments that pins hold, with the number of pins on each.
    private var pinnedSegments: [UInt64: Int] = [:]
    /// The first write, read or fsync that failed; the store is unusable from then on.
    public private(set) var failure: StorageError?
    /// What recovery cut from the last segment's tail, if anything ("file: reason").
    public private(set) var recoveryCut: String?

    /// Opens the body log in `directory` (created if missing), recovering what is there.
    public init(directory: String, fileSystem: any FileSystem, settings: BodyLogSettings = BodyLogSettings()) throws(StorageError) {
        try settings.validate()
        self.directory = directory
        self.fileSystem = fileSystem
        self.settings = settings
        if try fileSystem.createDirectory(at: directory) {
            let parent = directory.lastIndex(of: "/").map { String(directory[..<$0]) } ?? "."
            try fileSystem.syncDirectory(at: parent.isEmpty ? "/" : parent)
        }
        let numbers = try fileSystem.listDirectory(at: directory).compactMap(SegmentName.parse).sorted()
        var index: [UInt64: Location] = [:]
        var segments: [UInt64: Segment] = [:]
        var cut: String?
        for (i, number) in numbers.enumerated() {
            let path = Self.path(directory, number)
            let file = try fileSystem.openFile(at: path, mode: .existing)
            let size = try file.size()
            guard size <= Int(UInt32.max) else {
                file.close()
                throw .corruptSegment(file: path, offset: 0, reason: "\(size) bytes: larger than a segment can be")
            }
            let scan = try BodyLogFrame.scan(size: size, maxBodyBytes: settings.maxBodyBytes) { (at, count) throws(StorageError) in
                try file.read(at: at, count: count)
            }
            var valid = size
            if let damage = scan.damage {
                guard i == numbers.count - 1, !scan.badHeader else {
                    file.close()
                    throw .corruptSegment(file: path, offset: scan.validBytes, reason: damage)
                }
                cut = "\(path): \(damage), \(size - scan.validBytes) bytes cut"
                if scan.validBytes < BodyLogFrame.headerBytes {
                    file.close()
                    try fileSystem.removeFile(at: path)
                    try fileSystem.syncDirectory(at: directory)
                    continue
                }
                try file.truncate(to: scan.validBytes)
                try file.sync()
                valid = scan.validBytes
            }
            let segment = Segment(number: number, file: file, fileBytes: valid)
            segments[number] = segment
            for found in scan.records {
                let location = Location(segment: number, position: UInt32(found.bodyPosition), bytes: UInt32(found.bodyBytes))
                if let previous = index[found.offset], let old = segments[previous.segment] {
                    old.liveCount -= 1
                    old.liveBytes -= Int(previous.bytes)
                }
                index[found.offset] = location
                segment.bodyBytes += found.bodyBytes
                segment.liveCount += 1
                segment.liveBytes += found.bodyBytes
                segment.offsets.append(found.offset)
            }
        }
        let (next, overflow) = (numbers.last ?? 0).addingReportingOverflow(1)
        guard !overflow else {
            throw .corruptSegment(file: Self.path(directory, numbers.last ?? 0), offset: 0, reason: "segment number cannot be followed")
        }
        let file = try fileSystem.openFile(at: Self.path(directory, next), mode: .createNew)
        let header = BodyLogFrame.header()
        try file.write(header, at: 0)
        let created = Segment(number: next, file: file, fileBytes: header.count)
        segments[next] = created
        self.index = index
        self.segments = segments
        self.active = created
        self.bufferStart = header.count
        self.directoryDirty = true
        self.recoveryCut = cut
    }

    static func path(_ directory: String, _ number: UInt64) -> String { directory + "/" + SegmentName.name(number) }

    // MARK: MessageBodyStore

    public func put(_ body: [UInt8], at offset: UInt64) {
        guard failure == nil else { return }
        // Recovery would take a longer record for damage: refuse it now, loudly.
        guard body.count <= settings.maxBodyBytes else {
            fail(.recordTooLarge(bytes: body.count, limit: settings.maxBodyBytes))
            return
        }
        if let existing = index[offset] {
            // A replayed publish puts the same body again: already here (offsets are never
            // reused, and a committed entry never changes).
            if Int(existing.bytes) == body.count { return }
            forget(offset, existing)
        }
        append(body, at: offset)
    }

    public func body(at offset: UInt64) -> [UInt8]? {
        guard let l = index[offset] else { return nil }
        let position = Int(l.position), count = Int(l.bytes)
        if l.segment == active.number, position >= bufferStart {
            let from = position - bufferStart
            return Array(buffer[from..<from + count])
        }
        guard let segment = segments[l.segment] else { return nil }
        do {
            let bytes = try segment.file.read(at: position, count: count)
            guard bytes.count == count else {
                fail(.corruptSegment(file: segment.file.path, offset: position, reason: "body of \(offset) cut short"))
                return nil
            }
            return bytes
        } catch {
            fail(error)
            return nil
        }
    }

    public func bodyBytes(at offset: UInt64) -> Int? { index[offset].map { Int($0.bytes) } }

    public func remove(_ offset: UInt64) {
        guard let l = index.removeValue(forKey: offset) else { return }
        release(l)
    }

    // MARK: Checkpoints

    /// Compacts the sealed segments whose live bytes fell below the threshold, then makes
    /// every body put so far durable. Call before writing a snapshot that references bodies.
    public func checkpoint() throws(StorageError) -> BodyLogCheckpoint {
        if let failure { throw failure }
        for number in segments.keys.sorted() where number != active.number {
            guard let s = segments[number], s.liveCount > 0,
                  Double(s.liveBytes) < settings.compactBelowLiveFraction * Double(s.bodyBytes) else { continue }
            compact(s)
        }
        try sync()
        let dead = segments.values.filter { $0.number != active.number && $0.liveCount == 0 }.map(\.number).sorted()
        return BodyLogCheckpoint(deadSegments: dead)
    }

    /// Deletes the segments that were dead at `checkpoint`. Call once the snapshot written
    /// after that checkpoint is durable.
    public func release(_ checkpoint: BodyLogCheckpoint) throws(StorageError) {
        if let failure { throw failure }
        var removed = false
        for number in checkpoint.deadSegments {
            guard number != active.number, pinnedSegments[number] == nil, let s = segments[number], s.liveCount == 0 else { continue }
            s.file.close()
            segments[number] = nil
            do { try fileSystem.removeFile(at: Self.path(directory, number)) } catch { fail(error); throw error }
            removed = true
        }
        if removed {
            do { try fileSystem.syncDirectory(at: directory) } catch { fail(error); throw error }
        }
    }

    /// Makes every body put so far durable (no compaction): the bodies a streamed snapshot
    /// wrote here, before the snapshot naming them is installed.
    public func sync() throws(StorageError) {
        if let failure { throw failure }
        flush()
        do throws(StorageError) {
            if let failure { throw failure }
            try active.file.sync()
            if directoryDirty {
                try fileSystem.syncDirectory(at: directory)
                directoryDirty = false
            }
        } catch {
            fail(error)
            throw error
        }
    }

    // MARK: Pins

    /// Holds where the bodies at `offsets` are now, in that order, and keeps their segments
    /// until `unpin`: a reader sees exactly these bodies whatever is acked, compacted or
    /// released meanwhile (bytes in a segment never change). Nil when an offset has no body
    /// here or the store has failed.
    public func pin(_ offsets: [UInt64]) -> BodyLogPin? {
        guard failure == nil else { return nil }
        flush() // a pinned body is read from its file, never from the write buffer
        guard failure == nil else { return nil }
        var locations: [Location] = []
        locations.reserveCapacity(offsets.count)
        var held: [UInt64] = []
        for offset in offsets {
            guard let l = index[offset] else { return nil }
            locations.append(l)
            if held.last != l.segment { held.append(l.segment) }
        }
        let unique = Array(Set(held)).sorted()
        for number in unique { pinnedSegments[number, default: 0] += 1 }
        return BodyLogPin(locations: locations, segments: unique)
    }

    /// Lets go of what `pin` held.
    public func unpin(_ pin: BodyLogPin) {
        for number in pin.segments {
            guard let n = pinnedSegments[number] else { continue }
            pinnedSegments[number] = n > 1 ? n - 1 : nil
        }
    }

    /// Bytes `from ..< from + count` of the pinned body `i`. Nil once the store is closed or
    /// failed (the partition was dropped: the reader gives up); a read that fails is the
    /// store's failure.
    public func read(_ pin: BodyLogPin, body i: Int, from: Int, count: Int) -> [UInt8]? {
        guard failure == nil, pin.locations.indices.contains(i) else { return nil }
        let l = pin.locations[i]
        guard from >= 0, count >= 0, from + count <= Int(l.bytes), let segment = segments[l.segment] else { return nil }
        do {
            let bytes = try segment.file.read(at: Int(l.position) + from, count: count)
            guard bytes.count == count else {
                fail(.corruptSegment(file: segment.file.path, offset: Int(l.position), reason: "pinned body cut short"))
                return nil
            }
            return bytes
        } catch {
            fail(error)
            return nil
        }
    }

    /// Drops every indexed body whose offset `isLive` rejects: after recovery, the bodies
    /// removed since the last checkpoint (the restored partition names the live ones).
    public func retain(only isLive: (UInt64) -> Bool) {
        for (offset, l) in index where !isLive(offset) {
            index[offset] = nil
            release(l)
        }
    }

    /// Live bodies, their bytes, the segment files and their bytes on disk (buffer included).
    public var statistics: BodyLogStatistics {
        BodyLogStatistics(liveBodies: index.count, liveBytes: segments.values.reduce(0) { $0 + $1.liveBytes },
                          segments: segments.count, fileBytes: segments.values.reduce(0) { $0 + $1.fileBytes })
    }

    /// Writes the buffer and closes every file; the store is unusable afterwards.
    public func close() {
        flush()
        for s in segments.values { s.file.close() }
        if failure == nil { failure = .closed }
    }

    /// Deletes every segment of the body log in `directory` (the partition is gone).
    public static func destroy(directory: String, fileSystem: any FileSystem) throws(StorageError) {
        guard let names = try? fileSystem.listDirectory(at: directory) else { return }
        for name in names where SegmentName.parse(name) != nil { try fileSystem.removeFile(at: directory + "/" + name) }
        try fileSystem.syncDirectory(at: directory)
    }

    // MARK: Internals

    private func append(_ body: [UInt8], at offset: UInt64) {
        let recordBytes = BodyLogFrame.recordHeaderBytes + body.count
        if active.fileBytes + recordBytes > settings.segmentBytes, active.fileBytes > BodyLogFrame.headerBytes { roll() }
        guard failure == nil else { return }
        var w = ByteWriter(capacity: recordBytes)
        BodyLogFrame.append(offset: offset, body: body, to: &w)
        let position = active.fileBytes + BodyLogFrame.recordHeaderBytes
        buffer += w.bytes
        active.fileBytes += recordBytes
        index[offset] = Location(segment: active.number, position: UInt32(position), bytes: UInt32(body.count))
        active.bodyBytes += body.count
        active.liveCount += 1
        active.liveBytes += body.count
        active.offsets.append(offset)
        if buffer.count >= settings.writeBufferBytes { flush() }
    }

    private func forget(_ offset: UInt64, _ l: Location) {
        index[offset] = nil
        release(l)
    }

    private func release(_ l: Location) {
        guard let s = segments[l.segment] else { return }
        s.liveCount -= 1
        s.liveBytes -= Int(l.bytes)
        if s.liveCount == 0 { s.offsets = [] }
    }

    /// Copies a segment's live bodies to the active segment and points the index at them.
    /// Reads only the live bodies (under a tenth of the segment), one at a time.
    private func compact(_ s: Segment) {
        flush()
        let offsets = s.offsets
        for offset in offsets {
            guard failure == nil else { return }
            guard let l = index[offset], l.segment == s.number else { continue }
            let bytes: [UInt8]
            do { bytes = try s.file.read(at: Int(l.position), count: Int(l.bytes)) } catch { fail(error); return }
            guard bytes.count == Int(l.bytes) else {
                fail(.corruptSegment(file: s.file.path, offset: Int(l.position), reason: "body of \(offset) cut short"))
                return
            }
            release(l)
            append(bytes, at: offset)
        }
        s.offsets = []
    }

    private func roll() {
        flush()
        guard failure == nil else { return }
        do throws(StorageError) {
            try active.file.sync()
            let (next, overflow) = active.number.addingReportingOverflow(1)
            if overflow { throw StorageError.corruptSegment(file: active.file.path, offset: 0, reason: "segment number cannot be followed") }
            let file = try fileSystem.openFile(at: Self.path(directory, next), mode: .createNew)
            let header = BodyLogFrame.header()
            try file.write(header, at: 0)
            let created = Segment(number: next, file: file, fileBytes: header.count)
            segments[next] = created
            active = created
            bufferStart = header.count
            directoryDirty = true
        } catch {
            fail(error)
        }
    }

    private func flush() {
        guard failure == nil, !buffer.isEmpty else { return }
        do {
            try active.file.write(buffer, at: bufferStart)
            bufferStart += buffer.count
            buffer.removeAll(keepingCapacity: true)
        } catch {
            fail(error)
        }
    }

    private func fail(_ error: StorageError) {
        if failure == nil { failure = error }
    }
}

/// What a `SegmentBodyStore.checkpoint()` found dead: the segments `release` may delete once
/// the snapshot written after the checkpoint is durable.
public struct BodyLogCheckpoint: Hashable, Sendable {
    public let deadSegments: [UInt64]
}

/// Where some bodies of a body log were when `SegmentBodyStore.pin` was called, and the
/// segments kept for them. Invariant: `locations[i]` is the body of the i-th pinned offset,
/// and every segment it names is in `segments` (sorted, once each).
public struct BodyLogPin: Sendable {
    let locations: [SegmentBodyStore.Location]
    let segments: [UInt64]
    public var count: Int { locations.count }
    /// The size of pinned body `i`.
    public func bytes(of i: Int) -> Int { Int(locations[i].bytes) }
}

/// A body log's size, for metrics and tests.
public struct BodyLogStatistics: Hashable, Sendable {
    public let liveBodies: Int
    public let liveBytes: Int
    public let segments: Int
    public let fileBytes: Int
}
