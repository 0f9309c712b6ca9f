import ChorusBase
import ChorusNode
import ChorusRuntime
import ChorusShards
import Testing

/// The agent runs with the node's shard settings, quiescence included: its own default once
/// replaced them with `ShardHostSettings()`, whose quiescence is off, so no idle group of a
/// real agent ever went quiet while the simulated nodes' did.
@Suite struct AgentQuiescenceSettingsTests {
    @Test func theAgentsNodeQuiescesIdleGroups_asTheNodesDefaultsDo() {
        #expect(ShardHostSettings().quiesceAfterTicks == nil, "a bare host has no liveness source")
        #expect(NodeSettings().shards.quiesceAfterTicks == 20)
        #expect(AgentSettings(name: "n1", bind: Endpoint(ip: .loopbackV4, port: 0), api: Endpoint(ip: .loopbackV4, port: 0)).node.shards.quiesceAfterTicks == NodeSettings().shards.quiesceAfterTicks)
    }
}
