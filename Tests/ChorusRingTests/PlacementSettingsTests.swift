import Testing
import ChorusMembership
@testable import ChorusRing

@Suite struct PlacementSettingsTests {
    @Test func defaultsAreValid() throws {
        let s = PlacementSettings()
        try s.validate()
        #expect(s.virtualNodesPerMember == PlacementSettings.defaultVirtualNodesPerMember)
        #expect(s.shardCount == 64 && s.replicationFactor == 3)
        let map = ShardMap(ring: Ring(members: RingFixtures.alive(["a"])), settings: s)
        #expect(map.shardCount == 64 && map.replicationFactor == 3)
    }

    @Test(arguments: [
        (0, 64, 3, "ring_vnodes"), (5000, 64, 3, "ring_vnodes"),
        (128, 0, 3, "shards"), (128, 70_000, 3, "shards"),
        (128, 64, 0, "replicas"), (128, 64, 8, "replicas"),
    ])
    func outOfRangeValuesAreRefusedByName(v: Int, s: Int, r: Int, setting: String) {
        var settings = PlacementSettings()
        settings.virtualNodesPerMember = v
        settings.shardCount = s
        settings.replicationFactor = r
        #expect {
            try settings.validate()
        } throws: { error in
            (error as? SettingsError)?.message.hasPrefix(setting) == true
        }
    }
}
