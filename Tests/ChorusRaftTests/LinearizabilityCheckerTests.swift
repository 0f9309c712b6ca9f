import enum ChorusSim.Linearizability
import struct ChorusSim.KVOperation
import Testing

/// The checker itself, on hand-made histories.
@Suite struct LinearizabilityCheckerTests {
    private func put(_ c: Int, _ v: String, _ call: Int64, _ ret: Int64, key: String = "x") -> KVOperation {
        KVOperation(client: c, key: key, kind: .put(v), call: call, returned: ret)
    }
    private func get(_ c: Int, _ v: String?, _ call: Int64, _ ret: Int64, key: String = "x") -> KVOperation {
        KVOperation(client: c, key: key, kind: .get, call: call, returned: ret, output: v)
    }

    @Test func sequentialHistory_isLinearizable() {
        #expect(Linearizability.check([put(0, "a", 0, 1), get(1, "a", 2, 3), put(0, "b", 4, 5), get(1, "b", 6, 7)]) == .linearizable)
    }

    @Test func staleReadAfterAWriteCompleted_isAViolation() {
        #expect(Linearizability.check([put(0, "a", 0, 1), put(0, "b", 2, 3), get(1, "a", 4, 5)]) == .violation(key: "x"))
    }

    @Test func readOfAValueNeverWritten_isAViolation() {
        #expect(Linearizability.check([put(0, "a", 0, 1), get(1, "z", 2, 3)]) == .violation(key: "x"))
    }

    @Test func concurrentOperations_mayTakeEitherOrder() {
        #expect(Linearizability.check([put(0, "a", 0, 10), get(1, nil, 1, 2), get(2, "a", 3, 4)]) == .linearizable)
        #expect(Linearizability.check([put(0, "a", 0, 10), put(1, "b", 0, 10), get(2, "b", 11, 12), get(2, "b", 13, 14)]) == .linearizable)
    }

    @Test func readsMustNotGoBackInTime() {
        // Once a read saw the new value, a later read may not see the old one.
        #expect(Linearizability.check([put(0, "a", 0, 1), put(1, "b", 2, 20), get(2, "b", 3, 4), get(2, "a", 5, 6)]) == .violation(key: "x"))
    }

    @Test func writeWithUnknownOutcome_mayTakeEffectLateOrNever() {
        #expect(Linearizability.check([put(0, "a", 0, .max), get(1, nil, 1, 2), get(1, "a", 100, 101)]) == .linearizable)
        #expect(Linearizability.check([put(0, "a", 0, .max), get(1, nil, 1, 2)]) == .linearizable)
        #expect(Linearizability.check([put(0, "a", 0, .max), get(1, "a", 1, 2), get(1, nil, 3, 4)]) == .violation(key: "x"))
    }

    @Test func keysAreCheckedIndependently() {
        let h = [put(0, "a", 0, 1, key: "x"), put(0, "b", 0, 1, key: "y"), get(1, "a", 2, 3, key: "x"), get(1, "a", 2, 3, key: "y")]
        #expect(Linearizability.check(h) == .violation(key: "y"))
    }
}
