import ChorusBase
import Foundation
import Glibc
import Synchronization
import Testing
@testable import ChorusRuntime

@Suite struct EventLoopTests {
    @Test func timers_scheduledOutOfOrder_fireInDeadlineOrder() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let fired = Recorder<Int>()
        _ = onLoop(loop) {
            let base = loop.now()
            for (label, ms) in [(3, 30), (1, 10), (4, 40), (2, 20)] {
                loop.schedule(at: base + .milliseconds(Int64(ms))) { fired.append(label) }
            }
            return true
        }
        #expect(eventually { fired.count == 4 })
        #expect(fired.all == [1, 2, 3, 4])
    }

    @Test func timers_withEqualDeadlines_fireInSchedulingOrder() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let fired = Recorder<Int>()
        _ = onLoop(loop) {
            let at = loop.now() + .milliseconds(5)
            for i in 0..<50 { loop.schedule(at: at) { fired.append(i) } }
            return true
        }
        #expect(eventually { fired.count == 50 })
        #expect(fired.all == Array(0..<50))
    }

    @Test func timer_whenCancelled_neverFires() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let fired = Recorder<String>()
        _ = onLoop(loop) {
            let doomed = loop.schedule(after: .milliseconds(10)) { fired.append("cancelled") }
            loop.schedule(after: .milliseconds(30)) { fired.append("kept") }
            loop.cancel(doomed)
            return true
        }
        #expect(eventually { fired.count >= 1 })
        usleep(20_000)
        #expect(fired.all == ["kept"])
    }

    @Test func timer_cancelledByEarlierTimerInSameTurn_doesNotFire() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let fired = Recorder<String>()
        _ = onLoop(loop) {
            let at = loop.now() + .milliseconds(5)
            let holder = Mutex<TimerID?>(nil)
            loop.schedule(at: at) {
                fired.append("first")
                if let id = holder.withLock({ $0 }) { loop.cancel(id) }
            }
            holder.withLock { $0 = loop.schedule(at: at) { fired.append("second") } }
            loop.schedule(at: at + .milliseconds(10)) { fired.append("third") }
            return true
        }
        #expect(eventually { fired.count >= 2 })
        #expect(fired.all == ["first", "third"])
    }

    @Test func manyCancelledTimers_keepTheHeapBounded() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let pending = onLoop(loop) { () -> Int in
            for _ in 0..<10_000 {
                let id = loop.schedule(after: .milliseconds(60_000)) {}
                loop.cancel(id)
            }
            return loop.pendingTimerCount
        }
        #expect(pending == 0)
    }

    @Test func execute_fromManyThreads_runsEveryTaskOnTheLoopThread() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let onLoopThread = Recorder<Bool>()
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                for _ in 0..<100 {
                    while !loop.execute({ onLoopThread.append(loop.inLoopThread) }) { usleep(100) }
                }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 5) == .success)
        #expect(eventually { onLoopThread.count == 400 })
        #expect(onLoopThread.all.allSatisfy { $0 })
    }

    @Test func execute_whenInboxIsFull_returnsFalse() throws {
        let loop = try EventLoop(inboxCapacity: 3)  // not started: nothing drains the inbox
        #expect(loop.execute {})
        #expect(loop.execute {})
        #expect(loop.execute {})
        #expect(!loop.execute {})
    }

    @Test func execute_afterStop_returnsFalse() throws {
        let loop = try startedLoop()
        loop.stop()
        #expect(loop.isStopped)
        #expect(!loop.execute {})
    }

    @Test func stop_fromAnotherThread_joinsTheLoopThread() throws {
        let loop = try startedLoop()
        let ran = Recorder<Bool>()
        _ = onLoop(loop) { loop.schedule(after: .milliseconds(30_000)) { ran.append(true) }; return true }
        let before = Date()
        loop.stop()
        #expect(loop.isStopped)  // set by the loop thread just before it exits: join waited for it
        #expect(Date().timeIntervalSince(before) < 2)
        #expect(ran.count == 0)
    }

    @Test func stop_fromInsideTheLoop_endsRun() throws {
        let loop = try EventLoop()
        loop.schedule(after: .milliseconds(5)) { loop.stop() }
        loop.run()  // returns once the timer stops it
        #expect(loop.isStopped)
    }

    @Test func registeredPipe_whenWritten_callsHandlerWithReadable() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd); close(writeEnd) }
        let loop = try startedLoop()
        defer { loop.stop() }
        let seen = Recorder<String>()
        _ = onLoop(loop) {
            loop.register(fd: readEnd, events: .readable) { events in
                var buf = [UInt8](repeating: 0, count: 16)
                let n = read(readEnd, &buf, 16)
                seen.append("\(events.contains(.readable)) \(n)")
                loop.unregister(fd: readEnd)
            }
            return true
        }
        var byte: UInt8 = 7
        #expect(write(writeEnd, &byte, 1) == 1)
        #expect(eventually { seen.count == 1 })
        #expect(seen.all == ["true 1"])
    }
}
