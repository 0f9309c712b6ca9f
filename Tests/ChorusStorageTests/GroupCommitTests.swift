import Testing
@testable import ChorusStorage

@Suite struct GroupCommitTests {
    @Test func nAppendsAcrossGroups_thenOneSync_isOneWriteAndOneFsync() throws {
        try withTemporaryDirectory { dir in
            let fs = CountingFileSystem()
            let log = try SegmentLog(directory: dir, fileSystem: fs)
            // Creating the first segment: one file fsync and one directory fsync.
            #expect(fs.fileSyncs == 1 && fs.directorySyncs == 1)
            let (files, dirs, writes) = (fs.fileSyncs, fs.directorySyncs, fs.writes)
            for i: UInt64 in 1...100 {
                for g: UInt64 in 1...10 { try log.append(group: g, index: i, term: 1, payload: [UInt8(g)]) }
            }
            for g: UInt64 in 1...10 { try log.setHardState(HardState(term: 1, vote: g, commit: 50), group: g) }
            #expect(fs.fileSyncs == files && fs.writes == writes, "append must not touch the disk")
            let durable = try log.sync()
            #expect(fs.fileSyncs == files + 1)
            #expect(fs.directorySyncs == dirs)
            #expect(fs.writes == writes + 1)
            #expect(durable == log.appendedSequence)
            try log.sync()
            #expect(fs.fileSyncs == files + 1, "nothing pending: no fsync")
        }
    }

    @Test func syncThatRolls_fsyncsTheOldSegmentThenTheNewFileAndItsDirectory() throws {
        try withTemporaryDirectory { dir in
            let fs = CountingFileSystem()
            let log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            let (files, dirs) = (fs.fileSyncs, fs.directorySyncs)
            for i: UInt64 in 1...12 { try log.append(group: 1, index: i, term: 1, payload: [UInt8](repeating: 1, count: 100)) }
            #expect(log.segmentNames.count == 2)
            try log.sync()
            #expect(fs.fileSyncs == files + 2)
            #expect(fs.directorySyncs == dirs + 1)
        }
    }

    @Test func aNewLogDirectory_isMadeDurableInItsParent() throws {
        try withTemporaryDirectory { dir in
            let fs = CountingFileSystem()
            _ = try SegmentLog(directory: dir + "/log", fileSystem: fs)
            // The parent (for the new directory) and the directory (for the first segment).
            #expect(fs.directorySyncs == 2)
        }
    }

    @Test func failedFsync_failsTheLogForGood() throws {
        try withTemporaryDirectory { dir in
            let fs = CountingFileSystem()
            let log = try SegmentLog(directory: dir, fileSystem: fs)
            try log.append(group: 1, index: 1, term: 1, payload: [1])
            fs.failFileSync = fs.fileSyncs + 1
            #expect(throws: StorageError.io(operation: "fsync", path: dir + "/" + SegmentName.name(1), errno: 5)) { try log.sync() }
            #expect(throws: StorageError.self) { try log.append(group: 1, index: 2, term: 1, payload: [2]) }
            #expect(throws: StorageError.self) { try log.sync() }
            #expect(throws: StorageError.self) { try log.entries(group: 1, from: 1, to: 2) }
        }
    }

    @Test func settingTheSameHardStateAgain_writesNothing() throws {
        try withTemporaryDirectory { dir in
            let log = try SegmentLog(directory: dir)
            try log.setHardState(HardState(term: 1, vote: 2, commit: 0), group: 1)
            try log.setHardState(HardState(term: 1, vote: 2, commit: 0), group: 1)
            #expect(log.statistics.appendedRecords == 1)
        }
    }
}
