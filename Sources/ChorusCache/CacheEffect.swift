/// How a client operation ended.
public enum CacheOutcome: Hashable, Sendable {
    /// A read's answer (`nil`: the key has no value).
    case value([UInt8]?)
    /// A write (or delete) is durable: written through by the home before this was sent.
    case written
    /// A write is durable, and the durable layer made `value` of it (an increment's result,
    /// or a set whose expiry the home fixed): the writer's copy holds that value.
    case writtenValue([UInt8]?)
    case failed(CacheFailure)
}

/// Why an operation did not complete normally. Invariant: `outcomeUnknown` is only given to
/// writes, which may or may not have taken effect; a client reads to find out.
public enum CacheFailure: Hashable, Sendable {
    /// The key's home changed while the write was in flight.
    case outcomeUnknown
    /// Too many operations already wait on this key.
    case overloaded
    /// The key or value is larger than the codec carries.
    case tooLarge
    /// The key has no home at the moment (its shard has no leader); try again.
    case noHome
    /// The durable layer refused the write for the key's current value (an increment of a
    /// value that is not an integer, or one that would overflow); nothing changed.
    case refused
}

/// What a `CacheController` asks its driver to do, in order. Obligation: carry out the
/// effects in the order given; a `send` may be lost or delayed (the controller retransmits),
/// a `complete` is answered to the client at once.
public enum CacheEffect: Hashable, Sendable {
    case send(CacheMessage, to: CacheNodeID)
    case complete(ClientOpID, CacheOutcome)
}

/// What a `HomeDirectory` asks its driver to do, in order.
public enum HomeEffect: Hashable, Sendable {
    /// Send on the peer stream; may be lost (the home retransmits what it waits on).
    case send(CacheMessage, to: CacheNodeID)
    /// Read the key's durable value and version (a linearizable read of the shard: the
    /// leader's applied state after confirming leadership) and answer with `loaded`.
    case load(CacheKey)
    /// Make `value` the key's durable value at `version` (a Raft proposal committed on a
    /// quorum and fsynced) and answer with `writeThroughDone` or `writeThroughFailed` for
    /// `txn` (or `writeThroughRefused` when the mutation does not apply to the durable value).
    /// Obligation: apply at most once per `txn`.
    case writeThrough(CacheKey, value: [UInt8]?, version: UInt64, txn: TxnID)
}
