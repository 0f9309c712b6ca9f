import ChorusBase
import ChorusCache
import Testing
@testable import ChorusNode

/// The mirror's open-addressing table against a dictionary: inserts, replacements and
/// removals (which shift probe runs back, wrapping around the end of the slots) in random
/// order, through growth and shrinking.
@Suite struct LocalCopyTableTests {
    @Test(arguments: [1, 2, 3, 4])
    func randomOperations_matchADictionary(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var table = LocalCopyTable()
        var model: [CacheKey: LocalCopy] = [:]
        let keys = (0..<300).map { CacheKey("key-\($0)") }
        for step in 0..<30_000 {
            // Phases that fill the table and phases that empty it, so it grows and shrinks.
            let filling = (step / 3_000) % 2 == 0
            let key = keys[rng.below(300)]
            if rng.below(10) < (filling ? 7 : 2) {
                let copy = LocalCopy(value: [UInt8(step & 0xff)], readableUntil: Instant(nanoseconds: Int64(step)))
                table[key] = copy
                model[key] = copy
            } else {
                table[key] = nil
                model[key] = nil
            }
            #expect(table.count == model.count)
            if step % 97 == 0 {
                for k in keys { #expect(table[k] == model[k], "step \(step), \(k)") }
            }
        }
        for k in keys { #expect(table[k] == model[k]) }
        table.removeAll()
        #expect(table.count == 0 && keys.allSatisfy { table[$0] == nil })
    }
}
