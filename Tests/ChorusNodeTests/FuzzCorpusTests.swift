import Foundation
import Testing
import ChorusBase
import ChorusMembership
import ChorusNode
import ChorusShards
import ChorusSim
import ChorusStorage

/// Replays the libFuzzer corpus (Tests/Fuzz/corpus: seeds and inputs that once crashed a
/// decoder) through the same decoders the fuzz targets call: none may crash.
@Suite struct FuzzCorpusTests {
    static func corpusDirectory(_ target: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/\(target)")
    }

    static func inputs(_ target: String) -> [[UInt8]] {
        let dir = corpusDirectory(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: dir.appendingPathComponent($0).path).map { Array($0) } }
    }

    @Test func outsideBytes_fromTheCorpus_neverCrashADecoder() {
        var replayed = 0
        for b in Self.inputs("packet") { if let p = try? PacketCodec.decode(b) { _ = PacketCodec.encode(p) }; replayed += 1 }
        for b in Self.inputs("peer-message") { if let m = try? PeerMessageCodec.decode(b) { _ = PeerMessageCodec.encode(m) }; replayed += 1 }
        for b in Self.inputs("shard-batch") { _ = try? ShardBatchCodec.decode(b); replayed += 1 }
        for b in Self.inputs("storage-record") {
            _ = RecordFrame.decode(b, at: 0, maxRecordBytes: 1 << 20)
            _ = SegmentHeader.decode(b)
            replayed += 1
        }
        for b in Self.inputs("snapshot") { _ = SnapshotFile.decodeHeader(b); _ = SnapshotFile.decode(b); replayed += 1 }
        for b in Self.inputs("data-archive") {
            if case let .success(c) = DataDirectoryArchive.decode(b) { _ = DataDirectoryArchive.encodeHead(c.manifest) }
            replayed += 1
        }
        for b in Self.inputs("scenario-file") {
            if let s = try? Scenario.decode(data: Data(b)) { _ = try? ClusterConfig(scenario: s) }
            replayed += 1
        }
        #expect(replayed >= 10, "the corpus is missing (\(replayed) inputs)")
    }
}
