import ChorusNode
import ChorusRuntime
import Testing
@testable import ChorusCLI

/// `--cache-max-bytes` / `cache_max_bytes`: bytes or a size with a unit, 1MiB...1TiB, a flag
/// beats the file, and by default a share of physical memory; it reaches the node's cache.
@Suite struct CacheMaxBytesTests {
    func settings(_ args: [String], config: String? = nil) throws -> AgentSettings {
        let p = try AgentCommand.spec.parse(args)
        let file = try config.map { text throws in try AgentConfigFile.parse(text, source: "test.json") } ?? AgentConfigFile()
        return try AgentCommand.settings(from: p, file: file)
    }

    @Test func default_isTheMachinesShare_andReachesTheNodesCache() throws {
        let s = try settings(["--name", "n"])
        #expect(s.cacheMaxBytes == CacheMemoryShare.machineDefault)
        #expect((16 << 20...4 << 30).contains(s.cacheMaxBytes))
        #expect(s.node.cache.maxBytes == s.cacheMaxBytes)
    }

    @Test func flag_takesBytesOrUnits_andBeatsTheFile() throws {
        #expect(try settings(["--name", "n", "--cache-max-bytes", "2097152"]).cacheMaxBytes == 2 << 20)
        #expect(try settings(["--name", "n", "--cache-max-bytes", "512MiB"]).cacheMaxBytes == 512 << 20)
        #expect(try settings(["--name", "n", "--cache-max-bytes", "2gib"]).cacheMaxBytes == 2 << 30)
        #expect(try settings(["--name", "n"], config: #"{"cache_max_bytes": "1GiB"}"#).cacheMaxBytes == 1 << 30)
        #expect(try settings(["--name", "n"], config: #"{"cache_max_bytes": 8388608}"#).cacheMaxBytes == 8 << 20)
        #expect(try settings(["--name", "n", "--cache-max-bytes", "64MiB"], config: #"{"cache_max_bytes": "1GiB"}"#).cacheMaxBytes == 64 << 20)
    }

    @Test(arguments: ["0", "1048575", "2TiB", "-5", "64MB", "lots", "", "99999999999999999999", "9223372036854775807GiB", "1.5GiB"])
    func badValues_areUsageErrorsNamingTheFlag(text: String) {
        #expect(throws: UsageError.self) { try settings(["--name", "n", "--cache-max-bytes", text]) }
    }

    @Test func aBadFileValue_isAnError() {
        #expect(throws: (any Error).self) { try settings(["--name", "n"], config: #"{"cache_max_bytes": "1 GiB"}"#) }
        #expect(throws: (any Error).self) { try settings(["--name", "n"], config: #"{"cache_max_bytes": true}"#) }
    }

    @Test func agentSettings_refuseABudgetOutOfRange_namingTheSetting() throws {
        var s = try settings(["--name", "n"])
        for bad in [0, (1 << 20) - 1, (1 << 40) + 1] {
            s.cacheMaxBytes = bad
            #expect(throws: AgentStartError.self) { try s.validate() }
            do { try s.validate() } catch { #expect(error.description.contains("cache_max_bytes")) }
        }
        s.cacheMaxBytes = 1 << 20
        try s.validate()
    }

    @Test func theShare_isASixteenthOfMemory_clamped() {
        #expect(CacheMemoryShare.bytes(forPhysical: nil) == 64 << 20)
        #expect(CacheMemoryShare.bytes(forPhysical: 1 << 30) == 64 << 20)
        #expect(CacheMemoryShare.bytes(forPhysical: 128 << 20) == 16 << 20, "never below 16 MiB")
        #expect(CacheMemoryShare.bytes(forPhysical: 1 << 40) == 4 << 30, "never above 4 GiB")
        #expect(CacheMemoryShare.bytes(forPhysical: .max) == 4 << 30)
        #expect(CacheMemoryShare.physicalMemory().map { $0 > 0 } ?? true)
    }

    @Test func byteSizes_parseTotally() {
        #expect(ByteSize.parse("0") == 0)
        #expect(ByteSize.parse("10K") == 10 << 10)
        #expect(ByteSize.parse("3TiB") == 3 << 40)
        #expect(ByteSize.parse("7b") == 7)
        for bad in ["", "MiB", "1 MiB", "1MiBs", "-1", "1e6", "8589934592GiB"] { #expect(ByteSize.parse(bad) == nil, "\(bad)") }
    }
}
