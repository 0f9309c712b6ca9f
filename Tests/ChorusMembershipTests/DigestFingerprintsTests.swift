import Testing
import ChorusBase
@testable import ChorusMembership

@Suite struct DigestFingerprintsTests {
    static func record(_ name: String, _ incarnation: Incarnation, _ status: MemberStatus) -> MemberRecord {
        MemberRecord(name: name, address: Endpoint(ip: IPAddress(ipv4: 0x0A00_0001), port: 7946), incarnation: incarnation,
                     status: status, tags: Tags(), changedAt: .zero)
    }

    /// Random inserts, removals, status and incarnation changes, with the kept resolution
    /// changing now and then: every fold equals a full recomputation at every check.
    @Test func keptDigest_underRandomMutations_equalsFullRecomputation() {
        var rng = SeededRandom(seed: 21)
        var table = MemberTable(seed: 7)
        var present: [String: Int32] = [:]
        var resolution = 64
        for step in 0..<30_000 {
            let name = "m\(rng.below(2_000))"
            switch rng.below(5) {
            case 0, 1:
                if present[name] == nil {
                    present[name] = table.insert(Self.record(name, Incarnation(rng.below(4)), MemberStatus(rawValue: UInt8(rng.below(4)))!))
                }
            case 2:
                if let slot = present[name] { table.remove(slot); present[name] = nil }
            case 3:
                if let slot = present[name] { table.setStatus(slot, MemberStatus(rawValue: UInt8(rng.below(4)))!) }
            default:
                if let slot = present[name] { table.setIncarnation(slot, table[slot].incarnation &+ UInt32(rng.below(3))) }
            }
            if step % 997 == 0 { resolution = 1 << (3 + rng.below(10)) }
            if step % 250 == 0 {
                for count in [8, 64, 512, 4096] {
                    #expect(table.digest(buckets: count, keeping: resolution) == table.scanDigest(buckets: count))
                }
            }
        }
    }

    /// The scan is the digest the protocol always sent: `StateDigest.fingerprint` per member.
    @Test func scanDigest_matchesStateDigestDefinition() {
        var table = MemberTable(seed: 1)
        var expected = [UInt64](repeating: 0, count: 16)
        for i in 0..<100 {
            let status = MemberStatus(rawValue: UInt8(i % 4))!
            _ = table.insert(Self.record("n\(i)", Incarnation(i % 3), status))
            let (b, f) = StateDigest.fingerprint(name: "n\(i)", incarnation: Incarnation(i % 3), status: status, count: 16)
            expected[b] ^= f
        }
        #expect(table.scanDigest(buckets: 16) == expected)
        #expect(table.digest(buckets: 16, keeping: 1024) == expected)
    }

    @Test func fold_ofEmptyTable_isAllZero() {
        var table = MemberTable(seed: 1)
        #expect(table.digest(buckets: 8, keeping: 64) == [UInt64](repeating: 0, count: 8))
    }
}
