import ChorusBase
import Glibc
import Testing
@testable import ChorusRuntime

@Suite struct MonotonicClockTests {
    @Test func successiveReadings_neverDecrease() {
        var previous = MonotonicClock.now()
        for _ in 0..<10_000 {
            let current = MonotonicClock.now()
            #expect(current >= previous)
            previous = current
        }
    }

    @Test func sleeping_advancesTheClockByAtLeastTheSleep() {
        let before = MonotonicClock.now()
        usleep(20_000)
        let elapsed = MonotonicClock.now() - before
        #expect(elapsed >= .milliseconds(19))
        #expect(elapsed < .milliseconds(5_000))
    }
}
