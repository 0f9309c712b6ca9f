/// What a home grants with `Data`. Invariant: `.uncached` installs no copy (the reader uses
/// the value once), `.modified` answers only writes, `.refused` answers only writes the
/// durable layer did not apply (an increment of a value that is not an integer, or one that
/// would overflow): it installs no copy and the value is unchanged.
public enum Grant: UInt8, Hashable, Sendable {
    case shared = 1, exclusive = 2, modified = 3, uncached = 4, refused = 5
}

/// The coherence messages between cache controllers and a key's home (Sorin, Hill & Wood,
/// "A Primer on Memory Consistency and Cache Coherence", ch. 8, with request tags, grant
/// transactions and a completion message added for a lossy network).
///
/// Values are `[UInt8]?`: `nil` is "the key has no value" (never written, or deleted).
/// Every message names its key; the sender is the transport's.
///
/// Invariant: every message has an answer that any state can consume — a request gets
/// `data` or `nack`; an `inv`/`fwdGetS`/`fwdGetM` gets an `invAck` from every state; a put
/// gets a `putAck` from every home state; `unblock` and acks that match nothing are dropped.
public enum CacheMessage: Hashable, Sendable {
    /// Read request. `floor` is the sender's lowest unfinished sequence number: the home
    /// forgets finished requests below it.
    case getS(key: CacheKey, tag: RequestTag, floor: UInt64)
    /// Write request from a node without a copy (or one whose copy is being put).
    case getM(key: CacheKey, tag: RequestTag, floor: UInt64, value: [UInt8]?)
    /// Write request from a sharer; handled as `getM` when the sender is no longer one.
    case upgrade(key: CacheKey, tag: RequestTag, floor: UInt64, value: [UInt8]?)
    /// Eviction of a shared copy granted by `grant`.
    case putS(key: CacheKey, grant: TxnID)
    /// Eviction of a clean exclusive copy.
    case putE(key: CacheKey, grant: TxnID)
    /// Eviction of an owned copy. Writes are written through, so the home already holds
    /// `version`'s value; the message carries the version, not the bytes.
    case putM(key: CacheKey, grant: TxnID, version: UInt64)
    /// Home → owner: keep a shared copy and acknowledge to `requester`.
    case fwdGetS(key: CacheKey, txn: TxnID, requester: CacheNodeID, tag: RequestTag)
    /// Home → owner: drop the copy and acknowledge to `requester`.
    case fwdGetM(key: CacheKey, txn: TxnID, requester: CacheNodeID, tag: RequestTag)
    /// Home → sharer: drop the copy and acknowledge to `requester`.
    case inv(key: CacheKey, txn: TxnID, requester: CacheNodeID, tag: RequestTag)
    /// To the requester of `tag`: `acker` no longer reads its copy. The home sends one on an
    /// acker's behalf once that acker's lease has run out.
    case invAck(key: CacheKey, tag: RequestTag, acker: CacheNodeID)
    /// Home → requester: the answer to `tag`, to be used once `ackCount` distinct ackers
    /// have answered. Writes get `value == nil` and `carriesValue == false` (the writer
    /// knows its value); reads always carry it.
    case data(key: CacheKey, tag: RequestTag, txn: TxnID, grant: Grant, ackCount: UInt32,
              version: UInt64, carriesValue: Bool, value: [UInt8]?)
    /// Home → evicting node: the put of `grant` is done.
    case putAck(key: CacheKey, grant: TxnID)
    /// Requester → home: `txn`'s data and acks arrived; the home may serve the next request.
    case unblock(key: CacheKey, txn: TxnID)
    /// Home → requester: `tag` finished earlier without this requester hearing it (it was
    /// declared dead meanwhile); ask again with a new tag.
    case nack(key: CacheKey, tag: RequestTag)

    public var key: CacheKey {
        switch self {
        case let .getS(key, _, _), let .getM(key, _, _, _), let .upgrade(key, _, _, _),
             let .putS(key, _), let .putE(key, _), let .putM(key, _, _),
             let .fwdGetS(key, _, _, _), let .fwdGetM(key, _, _, _), let .inv(key, _, _, _),
             let .invAck(key, _, _), let .data(key, _, _, _, _, _, _, _), let .putAck(key, _),
             let .unblock(key, _), let .nack(key, _):
            return key
        }
    }

    /// Whether the message goes to the key's home (the rest go to cache controllers).
    public var isForHome: Bool {
        switch self {
        case .getS, .getM, .upgrade, .putS, .putE, .putM, .unblock: return true
        case .fwdGetS, .fwdGetM, .inv, .invAck, .data, .putAck, .nack: return false
        }
    }
}
