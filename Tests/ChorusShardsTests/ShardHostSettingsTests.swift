import ChorusRaft
import ChorusShards
import XCTest

final class ShardHostSettingsTests: XCTestCase {
    func testDefaults_areValid_andGiveTheAgentsElectionTimeout() throws {
        let s = ShardHostSettings()
        XCTAssertNoThrow(try s.validate())
        XCTAssertEqual(s.raft.electionTicks, 10)
        XCTAssertEqual(s.raft.heartbeatTicks, 2)
    }

    func testNonPositiveBound_isRefused_namingTheSetting() {
        let cases: [(String, (inout ShardHostSettings) -> Void)] = [
            ("snapshot_every", { $0.snapshotEvery = 0 }),
            ("ledger_capacity", { $0.ledgerCapacity = -1 }),
            ("rebalance_every_ticks", { $0.rebalanceEveryTicks = 0 }),
            ("orphan_ticks", { $0.orphanTicks = 0 }),
            ("max_pending_proposals", { $0.maxPendingProposals = 0 }),
            ("heartbeat_ticks", { $0.raft.heartbeatTicks = 10 }),
        ]
        for (name, change) in cases {
            var s = ShardHostSettings()
            change(&s)
            XCTAssertThrowsError(try s.validate(), name) { XCTAssertTrue("\($0)".contains(name), "\($0)") }
            XCTAssertThrowsError(try ShardHost<ShardState>(id: n1, settings: s, seed: 1, epoch: nil), name)
        }
    }
    /// A single AppendEntries or snapshot chunk always fits one peer frame: a larger one would
    /// be refused by the transport every time it is sent, and its group would never catch up.
    func testItemThatCannotFitAFrame_isRefused_namingTheSetting() {
        let cases: [(String, (inout ShardHostSettings) -> Void)] = [
            ("snapshot_chunk_bytes", { $0.snapshotChunkBytes = 20 << 20; $0.snapshotWindowBytes = 40 << 20 }),
            ("max_entry_bytes", { $0.raft.maxEntryBytes = 20 << 20 }),
            ("max_message_bytes", { $0.raft.maxMessageBytes = 12 << 20 }),
        ]
        for (name, change) in cases {
            var s = ShardHostSettings()
            change(&s)
            XCTAssertThrowsError(try s.validate(), name) { XCTAssertTrue("\($0)".contains(name), "\($0)") }
        }
    }
}
