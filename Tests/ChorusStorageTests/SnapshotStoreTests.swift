import Testing
@testable import ChorusStorage

@Suite struct SnapshotStoreTests {
    @Test(arguments: Medium.allCases)
    func saveThenLoad_roundTrips_andReplaces(medium: Medium) throws {
        try medium.run { fs, dir in
            let store = try SnapshotStore(directory: dir, fileSystem: fs)
            #expect(try store.load(group: 1) == nil)
            let a = Snapshot(group: 1, index: 10, term: 2, data: payload(1, 10, 3000))
            try store.save(a)
            #expect(try store.load(group: 1) == a)
            let b = Snapshot(group: 1, index: 20, term: 3, data: [1, 2, 3])
            try store.save(b)
            try store.save(Snapshot(group: 2, index: 5, term: 1, data: []))
            #expect(try store.load(group: 1) == b)
            #expect(try store.groups() == [1, 2])
            try store.remove(group: 2)
            #expect(try store.groups() == [1])
            #expect(try store.load(group: 2) == nil)
        }
    }

    @Test func anOlderSnapshot_isRefused() throws {
        try Medium.memory.run { fs, dir in
            let store = try SnapshotStore(directory: dir, fileSystem: fs)
            try store.save(Snapshot(group: 1, index: 20, term: 3, data: [1]))
            #expect(throws: StorageError.staleSnapshot(group: 1, index: 19, storedIndex: 20)) {
                try store.save(Snapshot(group: 1, index: 19, term: 3, data: [2]))
            }
            try store.save(Snapshot(group: 1, index: 20, term: 3, data: [3]))
        }
    }

    @Test func aCrashMidSave_keepsThePreviousSnapshot_andTheLeftoverIsCleanedUp() throws {
        let mem = MemoryFileSystem()
        let dir = "/chorus/snapshots"
        let store = try SnapshotStore(directory: dir, fileSystem: mem)
        let a = Snapshot(group: 1, index: 10, term: 2, data: [1, 2, 3])
        try store.save(a)
        // The temporary file written and synced but the rename not yet durable.
        let temp = try mem.openFile(at: dir + "/" + SnapshotStore.name(1) + ".tmp", mode: .createOrTruncate)
        try temp.write(SnapshotFile.encode(Snapshot(group: 1, index: 30, term: 4, data: [9])), at: 0)
        try temp.sync()
        try mem.syncDirectory(at: dir)
        mem.crash()
        let reopened = try SnapshotStore(directory: dir, fileSystem: mem)
        #expect(try reopened.load(group: 1) == a)
        #expect(try mem.listDirectory(at: dir) == [SnapshotStore.name(1)])
    }

    @Test func damagedSnapshotFiles_areCorruptSnapshot() throws {
        let mem = MemoryFileSystem()
        let dir = "/chorus/snapshots"
        let store = try SnapshotStore(directory: dir, fileSystem: mem)
        let good = SnapshotFile.encode(Snapshot(group: 1, index: 10, term: 2, data: [1, 2, 3, 4]))
        var variants: [(String, [UInt8])] = [("empty", []), ("short", Array(good.prefix(30))), ("truncated", Array(good.dropLast()))]
        var hostileLength = good
        for i in 32..<40 { hostileLength[i] = 0xFF }
        variants.append(("hostile data length", hostileLength))
        for bit in stride(from: 0, to: good.count * 8, by: 3) {
            var flipped = good
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            variants.append(("bit \(bit)", flipped))
        }
        for (name, bytes) in variants {
            mem.setContents(of: dir + "/" + SnapshotStore.name(1), to: bytes)
            #expect("\(name)") { try store.load(group: 1) } throws: { error in
                if case .corruptSnapshot = error as? StorageError { return true }
                return false
            }
        }
    }
}
