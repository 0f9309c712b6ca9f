import Testing
import Foundation
@testable import ChorusStorage

@Suite struct StorageBenchmarkTests {
    @Test func benchmark_countsOneFsyncPerBatch() throws {
        try withTemporaryDirectory { dir in
            let result = try StorageBenchmark.run(directory: dir + "/log", records: 2000, recordBytes: 128, syncEvery: 100, groups: 4)
            print("StorageBenchmark (debug build): \(result)")
            #expect(result.records == 2000)
            #expect(result.syncs == 20)
            #expect(result.fileSyncs >= 20 && result.fileSyncs <= 22)
            #expect(result.recordsPerSecond > 0)
        }
    }

    /// A larger run for the numbers in docs/storage.md: CHORUS_STORAGE_BENCH=1 swift test --filter StorageBenchmark
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CHORUS_STORAGE_BENCH"] == "1"))
    func benchmark_report() throws {
        for (bytes, every) in [(128, 1), (128, 100), (128, 1000), (4096, 100)] {
            try withTemporaryDirectory { dir in
                let r = try StorageBenchmark.run(directory: dir + "/log", records: every == 1 ? 2000 : 100_000, recordBytes: bytes, syncEvery: every)
                print("StorageBenchmark (debug build): \(r)")
            }
        }
    }
}
