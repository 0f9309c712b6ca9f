/// A small throughput probe of the segment log for the CLI: K records of B bytes spread over
/// G groups, a group commit every M records. Invariant: it uses only the public log API, in
/// the directory it is given, and removes nothing it did not create there.
public enum StorageBenchmark {
    /// What one run measured.
    public struct Result: Hashable, Sendable, CustomStringConvertible {
        public var records: Int
        public var recordBytes: Int
        public var syncEvery: Int
        public var syncs: Int
        public var fileSyncs: Int
        public var seconds: Double
        /// Time to reopen (recover) the log afterwards.
        public var recoverySeconds: Double
        public var recordsPerSecond: Double { seconds > 0 ? Double(records) / seconds : 0 }
        public var fsyncsPerSecond: Double { seconds > 0 ? Double(fileSyncs) / seconds : 0 }
        public var megabytesPerSecond: Double { seconds > 0 ? Double(records * recordBytes) / seconds / 1e6 : 0 }

        public var description: String {
            let rps = Int(recordsPerSecond), fps = Int(fsyncsPerSecond)
            return "\(records) records × \(recordBytes) B, sync every \(syncEvery): \(rps) records/s, \(fps) fsyncs/s, "
                + "\(Int(megabytesPerSecond)) MB/s, \(fileSyncs) fsyncs in \(Int(seconds * 1000)) ms; "
                + "reopen \(Int(recoverySeconds * 1000)) ms"
        }
    }

    /// Appends `records` records of `recordBytes` payload bytes to a fresh log in `directory`
    /// (which must not hold a log yet), round-robin over `groups` groups, calling `sync()`
    /// after every `syncEvery` records and once at the end; then closes and reopens the log to
    /// time recovery.
    public static func run(directory: String, records: Int, recordBytes: Int, syncEvery: Int, groups: Int = 1,
                           settings: SegmentLogSettings = SegmentLogSettings(),
                           fileSystem: any FileSystem = PosixFileSystem()) throws(StorageError) -> Result {
        guard records > 0, recordBytes >= 0, syncEvery > 0, groups > 0 else {
            throw .invalidSetting(name: "benchmark", rule: "records, syncEvery and groups must be positive")
        }
        let log = try SegmentLog(directory: directory, settings: settings, fileSystem: fileSystem)
        let before = log.statistics
        let payload = [UInt8](repeating: 0xA5, count: recordBytes)
        var next = [UInt64](repeating: 1, count: groups)
        let clock = ContinuousClock()
        let start = clock.now
        for k in 0..<records {
            let g = k % groups
            try log.append(group: UInt64(g + 1), index: next[g], term: 1, payload: payload)
            next[g] += 1
            if (k + 1) % syncEvery == 0 { try log.sync() }
        }
        try log.sync()
        let seconds = secondsSince(start, clock)
        let stats = log.statistics
        log.close()
        let reopenStart = clock.now
        let reopened = try SegmentLog(directory: directory, settings: settings, fileSystem: fileSystem)
        let recoverySeconds = secondsSince(reopenStart, clock)
        reopened.close()
        return Result(records: records, recordBytes: recordBytes, syncEvery: syncEvery,
                      syncs: stats.syncs - before.syncs, fileSyncs: stats.fileSyncs - before.fileSyncs,
                      seconds: seconds, recoverySeconds: recoverySeconds)
    }

    private static func secondsSince(_ start: ContinuousClock.Instant, _ clock: ContinuousClock) -> Double {
        let d = start.duration(to: clock.now)
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
