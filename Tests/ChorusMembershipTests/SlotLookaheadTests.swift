import Testing
import ChorusBase
@testable import ChorusMembership

@Suite struct SlotLookaheadTests {
    static func record(_ name: String) -> MemberRecord {
        MemberRecord(name: name, address: Endpoint(ip: IPAddress(ipv4: 0x0A00_0001), port: 7946), incarnation: 0,
                     status: .alive, tags: Tags(), changedAt: .zero)
    }

    func hints(_ table: MemberTable, _ names: [String]) -> [SlotHint] {
        [SlotHint](unsafeUninitializedCapacity: names.count) { buffer, count in
            table.resolve(names.count, name: { names[$0] }, into: buffer)
            count = names.count
        }
    }

    /// Batched lookups give `slot(of:)`'s answers, for known and unknown names, in a table
    /// with removals (shifted index entries) and enough members for colliding home buckets.
    @Test func resolve_givesSameSlotsAsOneByOneLookups() {
        var rng = SeededRandom(seed: 3)
        var table = MemberTable(seed: 9)
        var slots: [String: Int32] = [:]
        for i in 0..<3_000 { slots["m\(i)"] = table.insert(Self.record("m\(i)")) }
        for i in stride(from: 0, to: 3_000, by: 7) { table.remove(slots["m\(i)"]!) }
        for _ in 0..<200 {
            let names = (0..<MemberTable.lookaheadWidth).map { _ in "m\(rng.below(4_000))" }
            for (name, hint) in zip(names, hints(table, names)) {
                let expected = table.slot(of: name)
                #expect((hint.slot >= 0 ? hint.slot : nil) == expected)
                #expect(table.slot(of: name, hint: hint) == expected)
            }
        }
    }

    /// A name absent when looked up ahead but inserted before its turn (a packet naming a
    /// new member twice) is found: the absent hint is not trusted after an insertion.
    @Test func absentHint_afterInsertion_isNotTrusted() {
        var table = MemberTable(seed: 1)
        _ = table.insert(Self.record("a"))
        let hint = hints(table, ["b"])[0]
        #expect(hint.slot == SlotHint.absent)
        #expect(table.slot(of: "b", hint: hint) == nil)
        let b = table.insert(Self.record("b"))
        #expect(table.slot(of: "b", hint: hint) == b)
    }

    /// A slot hint whose slot was freed and reused by another member falls back to a lookup.
    @Test func slotHint_afterSlotReused_isNotTrusted() {
        var table = MemberTable(seed: 1)
        let a = table.insert(Self.record("a"))
        let hint = hints(table, ["a"])[0]
        #expect(hint.slot == a)
        table.remove(a)
        let c = table.insert(Self.record("c"))
        #expect(c == a)
        #expect(table.slot(of: "a", hint: hint) == nil)
        #expect(table.slot(of: "c", hint: hints(table, ["c"])[0]) == c)
    }
}
