/// Time passing, applied at the start of every entry with the entry's `nowMillis`: leases
/// that ran out end as failed deliveries (redelivered after backoff, or dead letters),
/// delays that ended make messages ready, and producer ids older than the window are
/// forgotten. Due timers fire in (time, offset) order, so every replica does the same.
extension QueuePartition {
    /// Latest clock a partition reaches (about 146 million years of milliseconds): a
    /// `nowMillis` beyond it is taken as this, so that a time plus any setting's duration
    /// stays far from overflowing.
    public static var clockCeilingMillis: UInt64 { 1 << 62 }

    mutating func advanceClock(to nowMillis: UInt64) {
        clockMillis = max(clockMillis, min(nowMillis, Self.clockCeilingMillis))
        if clockMillis >= settings.dedupWindowMillis {
            dedup.forget(through: clockMillis - settings.dedupWindowMillis)
        }
        while let due = timers.min, due.atMillis <= clockMillis {
            _ = timers.pop()
            guard let record = records[due.offset], record.epoch == due.epoch else { continue }
            switch record.state {
            case let .leased(consumer, deadline):
                counters.leasesExpired &+= 1
                let failure = DeliveryFailure(delivery: record.deliveries, kind: .leaseExpired, atMillis: deadline, consumer: consumer)
                settle(due.offset, after: failure, retryDelayMillis: settings.redeliveryDelayMillis(afterDeliveries: record.deliveries), reject: false)
            case .delayed:
                move(due.offset, to: .ready)
            case .ready, .dead:
                continue
            }
        }
    }

    /// When the next lease runs out or delay ends (possibly a stale time, which a `tick`
    /// then passes harmlessly): the leader proposes a `tick` once its clock reaches it.
    /// Nil when nothing is timed.
    public var nextDeadlineMillis: UInt64? { timers.min?.atMillis }
}
