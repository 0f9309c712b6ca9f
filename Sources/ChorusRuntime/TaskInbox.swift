/// The only state an event loop shares across threads: closures waiting to run on the loop,
/// guarded by the loop's mutex. Invariant: never holds more than `capacity` tasks, and
/// `wakePending` is true whenever tasks wait and a wake-up byte has been written.
struct TaskInbox {
    let capacity: Int
    var tasks: [@Sendable () -> Void] = []
    var wakePending = false
    var closed = false

    init(capacity: Int) { self.capacity = capacity }

    enum Offer { case accepted(needsWake: Bool), refused }

    mutating func offer(_ task: @escaping @Sendable () -> Void) -> Offer {
        guard !closed, tasks.count < capacity else { return .refused }
        tasks.append(task)
        if wakePending { return .accepted(needsWake: false) }
        wakePending = true
        return .accepted(needsWake: true)
    }

    mutating func takeAll() -> [@Sendable () -> Void] {
        wakePending = false
        defer { tasks = [] }
        return tasks
    }
}
