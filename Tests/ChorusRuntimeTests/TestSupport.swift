import ChorusBase
import Foundation
import Synchronization
@testable import ChorusRuntime

/// A thread-safe list that tests append to from the loop thread and read from the test.
final class Recorder<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func append(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
    var count: Int { items.withLock { $0.count } }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Double = 3, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

/// Runs `body` on the loop thread and waits for its result.
func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @Sendable @escaping () -> T) -> T? {
    let result = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    guard loop.execute({ result.withLock { $0 = body() }; done.signal() }) else { return nil }
    guard done.wait(timeout: .now() + 5) == .success else { return nil }
    return result.withLock { $0 }
}

/// A started event loop for one test; call `stop()` at the end.
func startedLoop() throws -> EventLoop {
    let loop = try EventLoop()
    try loop.start()
    return loop
}
