import ChorusRing
import ChorusRuntime
import Foundation
import Testing
@testable import ChorusCLI

/// `chorus ring` and the ring flags of `chorus agent`.
@Suite struct RingCommandTests {
    static let view = RingView(virtualNodesPerMember: 2, shardCount: 4, replicationFactor: 2, digest: "00000000000000aa", members: [
        .init(name: "a", address: "127.0.0.1:7946", tokens: 2, share: 0.3333, shardsPrimary: 1, shardsHosted: 3,
              tokensList: ["1000000000000000", "9000000000000000"]),
        .init(name: "bb", address: "127.0.0.1:7956", tokens: 2, share: 0.6667, shardsPrimary: 3, shardsHosted: 4,
              tokensList: ["0500000000000000", "a000000000000000"]),
    ])

    @Test func table_showsHeaderAndOneRowPerMember() {
        var view = Self.view
        for i in view.members.indices { view.members[i].tokensList = nil }
        #expect(RingCommand.text(view) == """
            V=2 S=4 R=2  2 members on the ring  digest 00000000000000aa
            NAME  ADDRESS         TOKENS  SHARE  PRIMARY  HOSTED
            a     127.0.0.1:7946  2       33.3%  1        3
            bb    127.0.0.1:7956  2       66.7%  3        4
            """)
    }

    @Test func tokens_areListedInRingOrder() {
        let text = RingCommand.text(Self.view)
        #expect(text.hasSuffix("""
            TOKEN             MEMBER
            0500000000000000  bb
            1000000000000000  a
            9000000000000000  a
            a000000000000000  bb
            """))
    }

    @Test func percent_hasOneDecimal() {
        #expect(RingCommand.percent(1) == "100.0%")
        #expect(RingCommand.percent(0) == "0.0%")
        #expect(RingCommand.percent(0.12345) == "12.3%")
    }

    @Test func json_roundTripsTheAPIShape() throws {
        let text = #"{"digest":"00000000000000aa","members":[{"address":"127.0.0.1:7946","name":"a","shards_hosted":3,"shards_primary":1,"share":0.5,"tokens":2}],"replication_factor":2,"shard_count":4,"virtual_nodes_per_member":2}"#
        let view = try JSONDecoder().decode(RingView.self, from: Data(text.utf8))
        #expect(view.virtualNodesPerMember == 2 && view.shardCount == 4 && view.replicationFactor == 2)
        #expect(view.members == [.init(name: "a", address: "127.0.0.1:7946", tokens: 2, share: 0.5, shardsPrimary: 1, shardsHosted: 3)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(view), as: UTF8.self) == text)
    }

    @Test func arguments_areCheckedAndTheCommandIsListed() throws {
        let p = try RingCommand.spec.parse(["--json", "--tokens", "--api", "127.0.0.1:9"])
        #expect(p.flag("--json") && p.flag("--tokens") && p.string("--api") == "127.0.0.1:9")
        #expect(throws: UsageError.self) { try RingCommand.spec.parse(["--tokens=1"]) }
        #expect(Chorus.main(["chorus", "ring", "extra"]) == 2)
        #expect(Chorus.main(["chorus", "ring", "--bogus"]) == 2)
        #expect(Chorus.main(["chorus", "ring", "--api", "127.0.0.1:1"]) == 1)
        #expect(Chorus.main(["chorus", "ring", "--help"]) == 0)
        #expect(Chorus.usage.contains("ring"))
    }

    // MARK: chorus agent --ring-vnodes / --shards / --replicas

    func settings(_ args: [String], config: String? = nil) throws -> AgentSettings {
        let p = try AgentCommand.spec.parse(["--name", "n1"] + args)
        let file = try config.map { text throws in try AgentConfigFile.parse(text, source: "test.json") } ?? AgentConfigFile()
        return try AgentCommand.settings(from: p, file: file)
    }

    @Test func placement_defaultsTo128VirtualNodes64Shards3Replicas() throws {
        let s = try settings([]).placement
        #expect(s.virtualNodesPerMember == 128 && s.shardCount == 64 && s.replicationFactor == 3)
        for flag in ["--ring-vnodes", "--shards", "--replicas"] { #expect(AgentCommand.spec.helpText.contains(flag)) }
    }

    @Test func placement_flagsOverrideTheConfigFile() throws {
        let config = #"{"ring_vnodes": 32, "shards": 16, "replicas": 5}"#
        let file = try settings([], config: config).placement
        #expect(file.virtualNodesPerMember == 32 && file.shardCount == 16 && file.replicationFactor == 5)
        let flags = try settings(["--ring-vnodes", "8", "--replicas=1"], config: config).placement
        #expect(flags.virtualNodesPerMember == 8 && flags.shardCount == 16 && flags.replicationFactor == 1)
    }

    @Test(arguments: [["--ring-vnodes", "0"], ["--ring-vnodes", "5000"], ["--shards", "0"], ["--shards", "65537"],
                      ["--replicas", "0"], ["--replicas", "8"], ["--replicas", "three"]])
    func placement_outOfRangeFlags_areUsageErrorsNamingTheFlag(args: [String]) {
        #expect {
            _ = try settings(args)
        } throws: { error in
            (error as? UsageError)?.message.hasPrefix(args[0]) == true
        }
        #expect(Chorus.main(["chorus", "agent", "--name", "n1"] + args) == 2)
    }

    @Test(arguments: [#"{"ring_vnodes": 0}"#, #"{"shards": 100000}"#, #"{"replicas": 2.5}"#, #"{"replicas": "3"}"#])
    func placement_badConfigValues_failNamingTheKey(config: String) {
        #expect {
            _ = try AgentConfigFile.parse(config, source: "test.json")
        } throws: { error in
            guard let message = (error as? CommandFailure)?.message else { return false }
            return ["ring_vnodes", "shards", "replicas"].contains { message.contains($0) } && !message.contains("\n")
        }
    }
}
