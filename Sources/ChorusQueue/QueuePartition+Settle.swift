/// Ack, nack and extend. Each acts only through the current lease (`LeaseReceipt`): a
/// receipt of an earlier delivery is `.leaseLost` and changes nothing.
extension QueuePartition {
    /// The consumer of `receipt`'s lease when it is the message's current one.
    private func currentLease(_ receipt: LeaseReceipt) -> Result<(MessageRecord, ConsumerID), SettleRefusal> {
        guard let record = records[receipt.offset] else { return .failure(.notFound) }
        guard case let .leased(consumer, _) = record.state, record.deliveries == receipt.delivery else {
            return .failure(.leaseLost)
        }
        return .success((record, consumer))
    }

    mutating func ack(_ receipt: LeaseReceipt) -> SettleOutcome {
        switch currentLease(receipt) {
        case let .failure(refusal): return refusal.outcome
        case .success:
            remove(receipt.offset)
            counters.acked &+= 1
            return .acked
        }
    }

    mutating func extend(_ receipts: [LeaseReceipt], millis: UInt64) -> QueueReply {
        guard millis >= 1, millis <= settings.maxVisibilityTimeoutMillis else {
            return .invalid("extend by \(millis) ms; 1…\(settings.maxVisibilityTimeoutMillis) allowed")
        }
        let deadline = clockMillis + millis
        return .settled(receipts.map { receipt in
            switch currentLease(receipt) {
            case let .failure(refusal): return refusal.outcome
            case let .success((_, consumer)):
                move(receipt.offset, to: .leased(consumer: consumer, deadlineMillis: deadline))
                return .extended(deadlineMillis: deadline)
            }
        })
    }

    mutating func nack(_ receipt: LeaseReceipt, delayMillis: UInt64, deadLetter: Bool) -> SettleOutcome {
        switch currentLease(receipt) {
        case let .failure(refusal): return refusal.outcome
        case let .success((_, consumer)):
            counters.nacked &+= 1
            let failure = DeliveryFailure(delivery: receipt.delivery, kind: .nacked, atMillis: clockMillis, consumer: consumer)
            let delay = min(delayMillis, settings.maxNackDelayMillis)
            switch settle(receipt.offset, after: failure, retryDelayMillis: delay, reject: deadLetter) {
            case let .dead(reason, _): return .deadLettered(reason)
            case let .delayed(until): return .requeued(availableAtMillis: until)
            case .ready, .leased: return .requeued(availableAtMillis: clockMillis)
            }
        }
    }

    /// Ends a failed delivery (a nack or a lease that ran out): the message becomes a dead
    /// letter when rejected or out of deliveries, else deliverable after `retryDelayMillis`.
    /// Returns the state it entered.
    @discardableResult
    mutating func settle(_ offset: UInt64, after failure: DeliveryFailure, retryDelayMillis: UInt64, reject: Bool) -> MessageState {
        guard var record = records[offset] else { preconditionFailure("settle of a missing message \(offset)") }
        record.remember(failure)
        records[offset] = record
        let next: MessageState
        if reject {
            next = .dead(.rejected, atMillis: clockMillis)
        } else if record.deliveriesCounted >= UInt32(settings.maxDeliveries) {
            next = .dead(.maxDeliveries, atMillis: clockMillis)
        } else if retryDelayMillis > 0 {
            next = .delayed(untilMillis: clockMillis + retryDelayMillis)
        } else {
            next = .ready
        }
        if case .dead = next { counters.deadLettered &+= 1 }
        move(offset, to: next)
        return next
    }
}

/// Why a receipt could not act.
enum SettleRefusal: Error {
    case notFound, leaseLost

    var outcome: SettleOutcome { self == .notFound ? .notFound : .leaseLost }
}
