import ChorusBase
import Glibc
import Synchronization

/// A single-threaded reactor: poll(2) over registered descriptors and a wake-up pipe, timers
/// from a binary heap, and a bounded inbox through which other threads hand it work.
///
/// Invariants:
/// - Handlers, timers and inbox tasks run only on the loop thread, one at a time, so code they
///   call needs no locks. `register`, `update`, `unregister`, `schedule` and `cancel` must be
///   called on the loop thread once it runs (before that, from the thread that set it up);
///   a call from elsewhere is a programmer error and stops the process.
/// - The mutex guards only the inbox; everything else belongs to the loop thread.
/// - The inbox never holds more than `inboxCapacity` tasks: `execute` refuses rather than grow.
/// - A stopped loop stays stopped; its pending timers and tasks are dropped (releasing what
///   they captured), and `execute` returns false from then on.
public final class EventLoop: @unchecked Sendable {
    /// What a descriptor handler receives: the readiness poll reported.
    public typealias Handler = (PollEvents) -> Void

    /// Default inbox bound: far above what one agent's API traffic queues between two loop
    /// turns, small enough that a flood is refused in bounded memory.
    public static let defaultInboxCapacity = 4096

    public let inboxCapacity: Int

    private struct Registration {
        var events: PollEvents
        var handler: Handler
        var generation: UInt64
    }

    private enum Phase: Int { case idle = 0, running = 1, stopped = 2 }

    // Shared across threads.
    private let inbox: Mutex<TaskInbox>
    private let stopRequested = Atomic<Bool>(false)
    private let phase = Atomic<Int>(Phase.idle.rawValue)
    private let ownerThread = Atomic<UInt>(0)
    private let spawnedThread = Mutex<pthread_t?>(nil)
    private let wakeup: WakeupPipe

    // Loop-thread only.
    private var registrations: [Int32: Registration] = [:]
    private var nextGeneration: UInt64 = 1
    private var pollSetDirty = true
    private var pollSet: [pollfd] = []
    private var pollGenerations: [UInt64] = []
    private var timers = TimerHeap()
    private var timerBodies: [TimerID: () -> Void] = [:]
    private var nextTimerID: UInt64 = 1

    public init(inboxCapacity: Int = EventLoop.defaultInboxCapacity) throws(EventLoopError) {
        precondition(inboxCapacity > 0, "EventLoop inboxCapacity must be positive")
        self.inboxCapacity = inboxCapacity
        self.inbox = Mutex(TaskInbox(capacity: inboxCapacity))
        self.wakeup = try WakeupPipe()
    }

    deinit {
        wakeup.close()
    }

    // MARK: Threads

    /// True when called on the thread currently running this loop.
    public var inLoopThread: Bool {
        let owner = ownerThread.load(ordering: .acquiring)
        return owner != 0 && pthread_equal(owner, pthread_self()) != 0
    }

    /// Spawns the loop thread and returns at once. Pair with `stop()`, which joins it.
    public func start() throws(EventLoopError) {
        let (exchanged, _) = phase.compareExchange(expected: Phase.idle.rawValue, desired: Phase.running.rawValue,
                                                   ordering: .acquiringAndReleasing)
        precondition(exchanged, "EventLoop.start() called on a loop that already ran")
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let loop = Unmanaged<EventLoop>.fromOpaque(raw).takeRetainedValue()
            loop.runUntilStopped()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<EventLoop>.fromOpaque(context).release()
            phase.store(Phase.stopped.rawValue, ordering: .releasing)
            throw EventLoopError.threadStart(errno: rc)
        }
        spawnedThread.withLock { $0 = thread }
    }

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        let (exchanged, _) = phase.compareExchange(expected: Phase.idle.rawValue, desired: Phase.running.rawValue,
                                                   ordering: .acquiringAndReleasing)
        precondition(exchanged, "EventLoop.run() called on a loop that already ran")
        runUntilStopped()
    }

    /// Asks the loop to stop after the current turn. From another thread, also waits for a
    /// thread spawned by `start()` to finish; from the loop thread it only sets the flag.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        inbox.withLock { $0.closed = true }
        wakeup.wake()
        if inLoopThread { return }
        let thread = spawnedThread.withLock { slot -> pthread_t? in
            defer { slot = nil }
            return slot
        }
        if let thread { _ = pthread_join(thread, nil) }
    }

    /// True once the loop has finished running.
    public var isStopped: Bool { phase.load(ordering: .acquiring) == Phase.stopped.rawValue }

    // MARK: Cross-thread work

    /// Queues `body` to run on the loop thread and wakes the loop. Callable from any thread,
    /// including the loop's own. Returns false, without queueing, when the inbox is full or
    /// the loop has stopped.
    @discardableResult
    public func execute(_ body: @Sendable @escaping () -> Void) -> Bool {
        switch inbox.withLock({ $0.offer(body) }) {
        case .refused: return false
        case let .accepted(needsWake):
            // On the loop thread no wake-up is needed: the loop runs its inbox at the end of
            // this turn, or polls without waiting while tasks are queued. That saves a pipe
            // write and read in every turn that schedules work for itself (Raft's Ready).
            if needsWake && !inLoopThread { wakeup.wake() }
            return true
        }
    }

    // MARK: Descriptors

    /// Watches `fd` for `events`; poll's error and hang-up bits are always reported.
    /// The loop does not own `fd`: the caller unregisters it before closing it.
    public func register(fd: Int32, events: PollEvents, handler: @escaping Handler) {
        checkOwnership("register(fd:)")
        precondition(registrations[fd] == nil, "EventLoop.register: fd \(fd) is already registered")
        registrations[fd] = Registration(events: events, handler: handler, generation: nextGeneration)
        nextGeneration += 1
        pollSetDirty = true
    }

    /// Changes the interest set of a registered `fd` (for example, adds `.writable` while
    /// output is queued). Does nothing for an unregistered descriptor.
    public func update(fd: Int32, events: PollEvents) {
        checkOwnership("update(fd:)")
        guard registrations[fd] != nil, registrations[fd]?.events != events else { return }
        registrations[fd]?.events = events
        pollSetDirty = true
    }

    /// Stops watching `fd`. Its handler will not be called again, even for readiness already
    /// reported in the current turn.
    public func unregister(fd: Int32) {
        checkOwnership("unregister(fd:)")
        if registrations.removeValue(forKey: fd) != nil { pollSetDirty = true }
    }

    /// The number of registered descriptors (the wake-up pipe not counted). Loop thread only.
    public var registeredCount: Int { registrations.count }

    // MARK: Timers

    /// The current monotonic time.
    public func now() -> Instant { MonotonicClock.now() }

    /// Runs `body` on the loop thread at or soon after `deadline`. Timers with equal
    /// deadlines run in the order they were scheduled.
    @discardableResult
    public func schedule(at deadline: Instant, _ body: @escaping () -> Void) -> TimerID {
        checkOwnership("schedule(at:)")
        let id = TimerID(value: nextTimerID)
        nextTimerID += 1
        timers.push(.init(deadline: deadline, id: id))
        timerBodies[id] = body
        return id
    }

    /// Runs `body` once `delay` has passed.
    @discardableResult
    public func schedule(after delay: Interval, _ body: @escaping () -> Void) -> TimerID {
        schedule(at: now() + delay, body)
    }

    /// Cancels a timer that has not fired yet; cancelling a fired or unknown timer does nothing.
    public func cancel(_ id: TimerID) {
        checkOwnership("cancel(_:)")
        guard timerBodies.removeValue(forKey: id) != nil else { return }
        // Cancelled entries stay in the heap and are skipped when due; compact when they
        // outnumber live ones so a cancel-heavy workload keeps the heap bounded.
        if timers.count > 64 && timers.count > 2 * timerBodies.count {
            timers.retain { timerBodies[$0.id] != nil }
        }
    }

    /// The number of timers scheduled and not yet fired or cancelled. Loop thread only.
    public var pendingTimerCount: Int { timerBodies.count }

    // MARK: The loop

    private func checkOwnership(_ call: String) {
        let running = phase.load(ordering: .acquiring) == Phase.running.rawValue
        precondition(!running || inLoopThread, "EventLoop.\(call) must be called on the loop thread")
    }

    private func runUntilStopped() {
        ownerThread.store(UInt(pthread_self()), ordering: .releasing)
        while !stopRequested.load(ordering: .acquiring) {
            turn()
        }
        // Drop everything that captured state so owners can be released and close their fds.
        inbox.withLock { $0.closed = true; _ = $0.takeAll() }
        timerBodies = [:]
        timers = TimerHeap()
        registrations = [:]
        pollSet = []
        ownerThread.store(0, ordering: .releasing)
        phase.store(Phase.stopped.rawValue, ordering: .releasing)
    }

    /// One iteration: wait for readiness or the next deadline, then dispatch descriptors,
    /// due timers and queued tasks, in that order.
    private func turn() {
        rebuildPollSetIfNeeded()
        let timeout = pollTimeoutMilliseconds()
        let ready = pollSet.withUnsafeMutableBufferPointer { buf in
            poll(buf.baseAddress, nfds_t(buf.count), timeout)
        }
        if ready > 0 {
            dispatchDescriptors()
        }
        if stopRequested.load(ordering: .acquiring) { return }
        runDueTimers()
        runInbox()
    }

    private func rebuildPollSetIfNeeded() {
        guard pollSetDirty else { return }
        pollSet.removeAll(keepingCapacity: true)
        pollGenerations.removeAll(keepingCapacity: true)
        pollSet.append(pollfd(fd: wakeup.readEnd, events: PollEvents.readable.rawValue, revents: 0))
        pollGenerations.append(0)
        for (fd, registration) in registrations {
            pollSet.append(pollfd(fd: fd, events: registration.events.rawValue, revents: 0))
            pollGenerations.append(registration.generation)
        }
        pollSetDirty = false
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        if inbox.withLock({ !$0.tasks.isEmpty }) { return 0 }
        guard let next = timers.first else { return -1 }
        let remaining = next.deadline - now()
        if remaining.nanoseconds <= 0 { return 0 }
        // Round up so a timer never fires early; cap so a far deadline cannot overflow.
        let ms = (remaining.nanoseconds + 999_999) / 1_000_000
        return Int32(min(ms, 60_000))
    }

    private func dispatchDescriptors() {
        // Copy: handlers may register or unregister and so rebuild `pollSet`.
        let snapshot = pollSet
        let generations = pollGenerations
        for i in snapshot.indices where snapshot[i].revents != 0 {
            let fd = snapshot[i].fd
            if i == 0 {
                wakeup.drain()
                continue
            }
            guard let registration = registrations[fd], registration.generation == generations[i] else { continue }
            registration.handler(PollEvents(rawValue: snapshot[i].revents))
            if stopRequested.load(ordering: .acquiring) { return }
        }
    }

    private func runDueTimers() {
        let current = now()
        var due: [TimerID] = []
        while let top = timers.first, top.deadline <= current {
            _ = timers.pop()
            due.append(top.id)
        }
        for id in due {
            // A body earlier in this batch may have cancelled a later one.
            if let body = timerBodies.removeValue(forKey: id) { body() }
        }
    }

    private func runInbox() {
        let tasks = inbox.withLock { $0.takeAll() }
        for task in tasks { task() }
    }
}
