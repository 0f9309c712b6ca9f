import ChorusRaft
import ChorusRing
import ChorusShards
import XCTest

/// Same calls ⇒ same run: every batch sent and every reply given agree byte for byte. Within
/// one process this catches state carried between runs; run the target with and without
/// `SWIFT_DETERMINISTIC_HASHING=1` and compare the printed digests to catch a decision that
/// follows a `Set` or `Dictionary` order (TESTING.md).
final class ShardHostDeterminismTests: XCTestCase {
    private func scenario() throws -> TraceDigest {
        var settings = ShardHostSettings()
        settings.snapshotEvery = 8
        let c = try ShardTestCluster.placed(shards: 8, settings: settings, seed: 42)
        try c.add(n4)
        var token: UInt64 = 0
        for round in 0..<3 {
            for s in 0..<8 {
                let shard = ShardID(s)
                guard let leader = c.leader(of: shard) else { continue }
                for i in 0..<4 {
                    token += 1
                    let t = token
                    _ = try? c.withHost(leader) { try $0.propose(shard: shard, requestID: bytes("\(round)-\(s)-\(i)"), command: put("k\(i)", "\(round)"), token: t) }
                }
            }
            try c.tick(3)
            if round == 0 { c.crash(n2) }
            if round == 1 {
                try c.start(n2)
                // Move half the shards off node 1 and onto node 4.
                var targets: [ShardID: [NodeID]] = [:]
                for s in 0..<8 { targets[ShardID(s)] = s % 2 == 0 ? [n2, n3, n4] : [n1, n2, n3] }
                try c.setTargets(targets)
            }
        }
        try c.tick(120)
        for s in stride(from: 0, to: 8, by: 2) { XCTAssertTrue(c.isPlaced(ShardID(s), voters: [n2, n3, n4]), "shard \(s)") }
        return c.trace
    }

    func testSameCalls_sameBatchesAndReplies() throws {
        let first = try scenario()
        let second = try scenario()
        print("shard host trace digest: \(first)")
        XCTAssertEqual(first, second)
        XCTAssertGreaterThan(first.items, 1_000)
    }
}
