import ChorusRaft
import Testing
@testable import ChorusRuntime

/// The `chorus raft` map stays small enough for its snapshot to travel as one InstallSnapshot.
@Suite struct RaftDriverMapTests {
    @Test func putsBeyondTheBound_areRefused_andTheImageAlwaysFitsOneSnapshotMessage() throws {
        var map = RaftDriverMap()
        let value = [UInt8](repeating: 7, count: 1 << 20)
        var applied = 0
        for i in 0..<20 {
            if map.put(key: Array("k\(i)".utf8), value: value) == .applied { applied += 1 }
        }
        #expect(applied == 15, "16 MiB less the margin holds 15 values of 1 MiB")
        #expect(map.put(key: Array("k19".utf8), value: value) == .refusedFull)
        // Overwriting a key with a value of the same size does not grow the image.
        #expect(map.put(key: Array("k0".utf8), value: value) == .applied)
        let image = map.image()
        #expect(image.count == map.imageBytes)
        #expect(image.count <= RaftCodec.Limits().maxSnapshotBytes)
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: LogIndex(9), term: Term(2), configuration: Configuration(voters: [NodeID(1), NodeID(2)])),
                                data: image)
        let message = RaftCodec.encode(Message(from: NodeID(1), to: NodeID(2), term: Term(2), body: .installSnapshot(snapshot)))
        #expect(message.count <= 16 << 20, "one frame")
        #expect(throws: Never.self) { try RaftCodec.decode(message) }
    }

    @Test func anImage_restoresTheSameMap_andDamagedImagesAreRefused() throws {
        var map = RaftDriverMap(maxImageBytes: 1 << 10)
        #expect(map.put(key: [1], value: [2, 3]) == .applied)
        #expect(map.put(key: [4], value: []) == .applied)
        #expect(map.put(key: [5], value: [UInt8](repeating: 0, count: 2000)) == .refusedFull)
        var copy = RaftDriverMap(maxImageBytes: 1 << 10)
        try copy.restore(map.image())
        #expect(copy.values == map.values && copy.imageBytes == map.imageBytes)
        let image = map.image()
        for cut in 1..<image.count {
            var broken = RaftDriverMap()
            #expect(throws: (any Error).self) { try broken.restore(Array(image.prefix(cut))) }
        }
        var empty = RaftDriverMap()
        try empty.restore([])
        #expect(empty.values.isEmpty && empty.imageBytes == 4)
    }
}
