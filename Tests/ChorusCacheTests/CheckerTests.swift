import ChorusBase
import Testing
@testable import ChorusCache

/// The checker itself: each kind of bad history it must report, and a good one it must not.
@Suite struct CheckerTests {
    @Test func readOfAnOverwrittenValue_afterTheNewWriteEnded_isReported() {
        var c = CoherenceChecker()
        c.recordWrite(key, value: bytes("a"), start: ms(0), end: ms(1))
        c.recordWrite(key, value: bytes("b"), start: ms(2), end: ms(3))
        c.recordRead(key, value: bytes("a"), start: ms(4), end: ms(5), node: 1)
        c.checkReads()
        #expect(c.violations.count == 1)
    }

    @Test func readOfAValueNobodyWrote_orBeforeItsWriteBegan_isReported() {
        var c = CoherenceChecker()
        c.recordWrite(key, value: bytes("a"), start: ms(10), end: ms(11))
        c.recordRead(key, value: bytes("a"), start: ms(1), end: ms(2), node: 1)
        c.recordRead(key, value: bytes("z"), start: ms(1), end: ms(2), node: 1)
        c.checkReads()
        #expect(c.violations.count == 2)
    }

    @Test func newerThenOlderRead_isReportedAgainstTheWriteOrder_evenIfTheWriteNeverEnded() {
        var c = CoherenceChecker()
        c.recordWrite(key, value: bytes("a"), start: ms(0), end: ms(1))
        c.recordWrite(key, value: bytes("b"), start: ms(2), end: nil)
        c.recordVersion(key, value: bytes("a"), version: 1)
        c.recordVersion(key, value: bytes("b"), version: 2)
        c.recordRead(key, value: bytes("b"), start: ms(3), end: ms(4), node: 1)
        c.recordRead(key, value: bytes("a"), start: ms(5), end: ms(6), node: 2)
        c.checkReads()
        #expect(c.violations.isEmpty)
        c.checkOrder()
        #expect(c.violations.count == 1)
    }

    @Test func concurrentReadsAndWrites_inAnyOrderTheyAllow_areAccepted() {
        var c = CoherenceChecker()
        c.recordWrite(key, value: bytes("a"), start: ms(0), end: ms(10))
        c.recordVersion(key, value: bytes("a"), version: 1)
        c.recordRead(key, value: nil, start: ms(1), end: ms(2), node: 1)
        c.recordRead(key, value: bytes("a"), start: ms(3), end: ms(4), node: 2)
        c.checkReads()
        c.checkOrder()
        #expect(c.violations.isEmpty)
    }

    @Test func writerBesideAReader_isReported() {
        var c = CoherenceChecker()
        c.checkSingleWriter(key, [(1, .S), (2, .S)], at: ms(0))
        #expect(c.violations.isEmpty)
        c.checkSingleWriter(key, [(1, .M), (2, .S)], at: ms(0))
        #expect(c.violations.count == 1)
    }
}
