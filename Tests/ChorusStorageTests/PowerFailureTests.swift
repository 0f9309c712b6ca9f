import Testing
import ChorusBase
@testable import ChorusStorage

/// Random operations against a model, with power failures at random points — some in the
/// middle of a sync, tearing the write. After every failure the recovered log must equal the
/// model after the last completed sync plus some prefix of the records appended after it.
@Suite struct PowerFailureTests {
    struct ModelGroup: Equatable {
        var entries: [LogEntry] = []
        var mark = SnapshotMark.zero
        var hardState: HardState?
        var lastIndex: UInt64 { entries.last?.index ?? mark.index }
    }
    typealias Model = [UInt64: ModelGroup]

    static func observe(_ log: SegmentLog) throws -> Model {
        var m: Model = [:]
        for g in log.groups {
            m[g] = ModelGroup(entries: try log.entries(group: g, from: log.firstIndex(group: g), to: log.lastIndex(group: g) + 1),
                              mark: log.snapshotMark(group: g), hardState: log.hardState(group: g))
        }
        return m
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func recoveredStateIsTheLastSyncPlusAPrefixOfWhatFollowed(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let mem = MemoryFileSystem()
        let fs = CountingFileSystem(mem)
        let dir = "/chorus/log"
        var log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
        var model: Model = [:]
        var window: [Model] = [model]   // model states since the last durable point, one per record
        var crashes = 0, tornCrashes = 0

        func reopenAndCheck(_ what: String) throws {
            log = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: fs)
            let seen = try Self.observe(log)
            #expect(window.contains(seen), "seed \(seed): \(what): recovered state not in the window of \(window.count)")
            model = seen
            window = [model]
        }

        for step in 0..<1500 {
            let g = UInt64(1 + rng.below(4))
            var group = model[g] ?? ModelGroup()
            switch rng.below(100) {
            case 0..<55:
                let conflict = group.lastIndex > group.mark.index && rng.below(8) == 0
                let index = conflict ? group.mark.index + 1 + UInt64(rng.below(Int(group.lastIndex - group.mark.index))) : group.lastIndex + 1
                let term = (group.entries.last?.term ?? group.mark.term) + (conflict ? 1 : 0)
                let entry = LogEntry(index: index, term: term, payload: payload(g, UInt64(step), rng.below(80)))
                try log.append(group: g, index: index, term: term, payload: entry.payload)
                if index <= group.lastIndex {
                    group.entries.removeAll { $0.index >= index }
                    model[g] = group
                    window.append(model)
                }
                group.entries.append(entry)
            case 55..<65:
                let hs = HardState(term: UInt64(rng.below(5)), vote: UInt64(rng.below(3)), commit: group.lastIndex)
                try log.setHardState(hs, group: g)
                if hs == group.hardState { continue }
                group.hardState = hs
            case 65..<70:
                guard group.lastIndex > group.mark.index else { continue }
                let index = group.mark.index + 1 + UInt64(rng.below(Int(group.lastIndex - group.mark.index)))
                let term = group.entries.first { $0.index == index }?.term ?? 0
                try log.markSnapshot(group: g, index: index, term: term)
                group.entries.removeAll { $0.index <= index }
                group.mark = SnapshotMark(index: index, term: term)
            case 70:
                guard model[g] != nil else { continue }
                try log.removeGroup(g)
                model[g] = nil
                window.append(model)
                continue
            case 71..<86:
                try log.sync()
                window = [model]
                continue
            case 86..<90:
                try log.compact()
                window = [model]
                continue
            case 90..<95:
                // Power fails during the next sync: its write lands in part.
                guard log.hasUnsyncedRecords else { continue }
                fs.failFileSync = fs.fileSyncs + 1 + rng.below(2)
                do { try log.sync(); window = [model] } catch {}
                fs.failFileSync = nil
                log.close()
                mem.crash(tearingAppends: &rng)
                tornCrashes += 1
                try reopenAndCheck("torn crash at step \(step)")
                continue
            default:
                log.close()
                mem.crash()
                crashes += 1
                try reopenAndCheck("crash at step \(step)")
                continue
            }
            model[g] = group
            window.append(model)
        }
        try log.sync()
        log.close()
        let final = try SegmentLog(directory: dir, settings: smallSegments, fileSystem: mem)
        #expect(try Self.observe(final) == model)
        #expect(crashes > 10 && tornCrashes > 10)
    }
}
