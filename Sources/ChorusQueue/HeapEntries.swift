import ChorusBase

// The entries of a partition's heaps (`MinHeap` lives in ChorusBase).

/// An entry of the ready heap: a message believed deliverable, valid while the message's
/// epoch is still `epoch`.
struct ReadyEntry: Comparable, Sendable {
    let offset: UInt64
    let epoch: UInt32
    static func < (a: ReadyEntry, b: ReadyEntry) -> Bool { (a.offset, a.epoch) < (b.offset, b.epoch) }
}

/// An entry of the timer heap: a lease deadline or the end of a delay, valid while the
/// message's epoch is still `epoch`. Due timers fire in (time, offset) order.
struct TimerEntry: Comparable, Sendable {
    let atMillis: UInt64
    let offset: UInt64
    let epoch: UInt32
    static func < (a: TimerEntry, b: TimerEntry) -> Bool { (a.atMillis, a.offset, a.epoch) < (b.atMillis, b.offset, b.epoch) }
}
