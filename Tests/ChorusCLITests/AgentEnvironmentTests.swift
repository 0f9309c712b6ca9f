import ChorusBase
import ChorusMembership
import ChorusRuntime
import Testing
@testable import ChorusCLI

/// `chorus agent` settings from `CHORUS_…` variables: a flag beats its variable, a variable
/// beats the config file.
@Suite struct AgentEnvironmentTests {
    func settings(_ args: [String], environment: [String: String], config: String? = nil) throws -> AgentSettings {
        let p = try AgentCommand.spec.parse(args, environment: environment)
        let file = try config.map { text throws in try AgentConfigFile.parse(text, source: "test.json") } ?? AgentConfigFile()
        return try AgentCommand.settings(from: p, file: file)
    }

    @Test func everyAgentFlag_hasAVariableNamedAfterIt() {
        for option in AgentCommand.spec.options where option.name != "--help" {
            #expect(option.environment == CommandSpec.Option.environmentName(of: option.name), "\(option.name)")
            #expect(AgentCommand.spec.helpText.contains("$" + (option.environment ?? "?")), "\(option.name)")
        }
        #expect(CommandSpec.Option.environmentName(of: "--data-dir") == "CHORUS_DATA_DIR")
        #expect(CommandSpec.Option.environmentName(of: "--ring-vnodes") == "CHORUS_RING_VNODES")
    }

    @Test func variables_setEverySetting_whenNoFlagOrFileDoes() throws {
        let env = ["CHORUS_NAME": "env-node", "CHORUS_BIND": "127.0.0.1:9101", "CHORUS_API": "127.0.0.1:9102",
                   "CHORUS_ADVERTISE": "10.1.2.3:9101", "CHORUS_SEED": "127.0.0.1:9201, 127.0.0.1:9202",
                   "CHORUS_CLUSTER": "env-cluster", "CHORUS_DATA_DIR": "/tmp/env-data", "CHORUS_TAG": "zone=a,role=web",
                   "CHORUS_RING_VNODES": "16", "CHORUS_SHARDS": "8", "CHORUS_REPLICAS": "1", "CHORUS_DRAIN_TIMEOUT": "1500"]
        let s = try settings([], environment: env)
        #expect(s.name == "env-node")
        #expect(s.bind == Endpoint(parsing: "127.0.0.1:9101"))
        #expect(s.api == Endpoint(parsing: "127.0.0.1:9102"))
        #expect(s.advertise == Endpoint(parsing: "10.1.2.3:9101"))
        #expect(s.seeds == ["127.0.0.1:9201", "127.0.0.1:9202"])
        #expect(s.clusterName == "env-cluster")
        #expect(s.membership.cluster == ClusterID.from(name: "env-cluster"))
        #expect(s.dataDirectory == "/tmp/env-data")
        #expect(s.tags == (try Tags(["zone": "a", "role": "web"])))
        #expect(s.placement.virtualNodesPerMember == 16)
        #expect(s.placement.shardCount == 8)
        #expect(s.placement.replicationFactor == 1)
        #expect(s.drainTimeout == .milliseconds(1500))
    }

    @Test func flag_beatsVariable_beatsConfigFile() throws {
        let config = #"{"name": "file", "bind": "127.0.0.1:9001", "api": "127.0.0.1:9002", "shards": 32, "seeds": ["127.0.0.1:9300"]}"#
        let env = ["CHORUS_NAME": "env", "CHORUS_BIND": "127.0.0.1:9101", "CHORUS_SHARDS": "16", "CHORUS_SEED": "127.0.0.1:9200"]
        let s = try settings(["--name", "flag", "--shards", "4"], environment: env, config: config)
        #expect(s.name == "flag")
        #expect(s.placement.shardCount == 4)
        #expect(s.bind == Endpoint(parsing: "127.0.0.1:9101"))
        #expect(s.seeds == ["127.0.0.1:9200"])
        #expect(s.api == Endpoint(parsing: "127.0.0.1:9002"))
    }

    @Test func logSettings_andConfigPath_comeFromVariables() throws {
        let p = try AgentCommand.spec.parse([], environment: ["CHORUS_LOG_LEVEL": "debug", "CHORUS_LOG_FORMAT": "json",
                                                              "CHORUS_CONFIG": "/etc/chorus.json"])
        let logging = try AgentCommand.logSettings(from: p, file: AgentConfigFile())
        #expect(logging.level == .debug)
        #expect(logging.format == .json)
        #expect(p.string("--config") == "/etc/chorus.json")
    }

    @Test func emptyVariable_countsAsUnset() throws {
        let s = try settings([], environment: ["CHORUS_NAME": "", "CHORUS_SEED": ""], config: #"{"name": "file"}"#)
        #expect(s.name == "file")
        #expect(s.seeds.isEmpty)
    }

    @Test func badVariable_isAUsageErrorNamingTheVariable() throws {
        for (variable, value) in [("CHORUS_SHARDS", "many"), ("CHORUS_REPLICAS", "99"), ("CHORUS_TAG", "novalue"),
                                  ("CHORUS_SEED", "nohostport"), ("CHORUS_DRAIN_TIMEOUT", "-1"), ("CHORUS_LOG_LEVEL", "loud")] {
            let error = #expect(throws: UsageError.self, "\(variable)") {
                let p = try AgentCommand.spec.parse([], environment: [variable: value])
                _ = try AgentCommand.logSettings(from: p, file: AgentConfigFile())
                _ = try AgentCommand.settings(from: p, file: AgentConfigFile())
            }
            #expect(error?.message.contains(variable) == true, "\(error?.message ?? "")")
        }
    }

    @Test func clientCommands_ignoreAgentVariables() throws {
        let p = try MembersCommand.spec.parse([], environment: ["CHORUS_NAME": "x", "CHORUS_SHARDS": "8"])
        #expect(p.values.isEmpty)
    }
}
