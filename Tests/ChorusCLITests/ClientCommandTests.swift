import ChorusRuntime
import Testing
@testable import ChorusCLI

@Suite struct ClientCommandTests {
    static let specs: [CommandSpec] = [AgentCommand.spec, MembersCommand.spec, JoinCommand.spec, LeaveCommand.spec,
                                       InfoCommand.spec, TagsCommand.spec, RingCommand.spec]

    @Test func help_explainsEveryFlagOfEveryCommand() {
        for spec in Self.specs {
            for option in spec.options {
                #expect(spec.helpText.contains(option.name), "\(spec.name) \(option.name)")
                #expect(!option.help.isEmpty, "\(spec.name) \(option.name)")
            }
        }
        for name in ["agent", "members", "join", "leave", "info", "tags", "ring"] { #expect(Chorus.usage.contains(name)) }
        for flag in ["--name", "--bind", "--advertise", "--api", "--seed", "--cluster", "--data-dir", "--config", "--tag",
                     "--log-level", "--log-format"] {
            #expect(AgentCommand.spec.helpText.contains(flag), "\(flag)")
        }
        for spec in Self.specs.dropFirst() { #expect(spec.helpText.contains("--api"), "\(spec.name)") }
        #expect(Chorus.main(["chorus", "members", "--help"]) == 0)
        #expect(Chorus.main(["chorus", "--help"]) == 0)
    }

    @Test func apiAddress_flagBeatsEnvironmentBeatsDefault() throws {
        let none = try MembersCommand.spec.parse([])
        #expect(AgentClient(none, environment: [:]).address == "127.0.0.1:7947")
        #expect(AgentClient(none, environment: ["CHORUS_API": "127.0.0.1:9999"]).address == "127.0.0.1:9999")
        let flag = try MembersCommand.spec.parse(["--api", "[::1]:8000"])
        #expect(AgentClient(flag, environment: ["CHORUS_API": "127.0.0.1:9999"]).address == "[::1]:8000")
    }

    @Test func apiToken_flagBeatsEnvironment_andIsSentAsBearer() throws {
        let none = try MembersCommand.spec.parse([])
        #expect(AgentClient(none, environment: [:]).token == nil)
        #expect(AgentClient(none, environment: ["CHORUS_API_TOKEN": "from-env"]).token == "from-env")
        let flag = try MembersCommand.spec.parse(["--api-token", "from-flag"])
        #expect(AgentClient(flag, environment: ["CHORUS_API_TOKEN": "from-env"]).token == "from-flag")
        for spec in Self.specs.dropFirst() { #expect(spec.helpText.contains("--api-token"), "\(spec.name)") }
        #expect(AgentCommand.spec.helpText.contains("--api-token-file"))
    }

    @Test func unreachableAgent_exitsOneForEveryClientCommand() {
        let api = ["--api", "127.0.0.1:1"]
        #expect(Chorus.main(["chorus", "members"] + api) == 1)
        #expect(Chorus.main(["chorus", "info"] + api) == 1)
        #expect(Chorus.main(["chorus", "ring"] + api) == 1)
        #expect(Chorus.main(["chorus", "leave"] + api) == 1)
        #expect(Chorus.main(["chorus", "join", "127.0.0.1:7946"] + api) == 1)
        #expect(Chorus.main(["chorus", "tags", "set", "a=b"] + api) == 1)
    }

    @Test func badClientArguments_areUsageErrors() {
        #expect(Chorus.main(["chorus", "members", "--status", "zombie"]) == 2)
        #expect(Chorus.main(["chorus", "join"]) == 2)
        #expect(Chorus.main(["chorus", "join", "nohostport"]) == 2)
        #expect(Chorus.main(["chorus", "tags"]) == 2)
        #expect(Chorus.main(["chorus", "tags", "set", "novalue"]) == 2)
        #expect(Chorus.main(["chorus", "tags", "rename", "a"]) == 2)
        #expect(Chorus.main(["chorus", "frobnicate"]) == 2)
    }

    @Test func membersTable_showsColumns_andVerboseAddsDetail() {
        let m = [MemberView(name: "n1", address: "127.0.0.1:7946", status: "alive", incarnation: 3, tags: ["b": "2", "a": "1"],
                            phi: 0.5, lastChange: "2026-01-01T00:00:00.000Z", secondsSinceChange: 75, local: true)]
        let plain = MembersCommand.table(m, verbose: false)
        #expect(plain == "NAME  ADDRESS         STATUS  TAGS\nn1    127.0.0.1:7946  alive   a=1,b=2")
        let verbose = MembersCommand.table(m, verbose: true)
        #expect(verbose.contains("INCARNATION"))
        #expect(verbose.contains("1m15s ago"))
        #expect(verbose.contains("0.50"))
    }
}
