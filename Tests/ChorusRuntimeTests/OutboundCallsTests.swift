import Foundation
import Synchronization
import Testing
@testable import ChorusRuntime

@Suite struct OutboundCallsTests {
    @Test func callsOverTheLimit_areRefused_andSlotsFreeWhenCallsEnd() {
        let calls = OutboundCalls(limit: 2)
        let gate = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        #expect(calls.start { gate.wait(); finished.signal() })
        #expect(calls.start { gate.wait(); finished.signal() })
        #expect(!calls.start {}, "a third call while two block is refused")
        gate.signal(); gate.signal()
        finished.wait(); finished.wait()
        let deadline = Date().addingTimeInterval(5)
        while calls.inFlight > 0 && Date() < deadline { usleep(1_000) }
        #expect(calls.inFlight == 0)
        let ran = Mutex(false)
        let done = DispatchSemaphore(value: 0)
        #expect(calls.start { ran.withLock { $0 = true }; done.signal() })
        done.wait()
        #expect(ran.withLock { $0 })
    }
}
