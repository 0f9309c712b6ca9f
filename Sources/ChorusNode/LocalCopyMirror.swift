import ChorusBase
import ChorusCache

/// What one key's line now lets a read be answered with locally: the client's bytes (nil:
/// the key is known absent) and the end of the copy's lease; `copy == nil` when the line
/// holds nothing readable any more (`NodeEffect.localCopies`).
public struct LocalCopyChange: Sendable, Equatable {
    public let key: CacheKey
    public let copy: LocalCopy?

    public init(key: CacheKey, copy: LocalCopy?) {
        self.key = key
        self.copy = copy
    }
}

/// A mirror of a node's readable cache copies, kept by a driver from the node's
/// `.localCopies` effects, so that a program embedding the node reads its local copies with
/// a function call, off the node's thread (the runtime holds it behind a lock).
///
/// Invariant: a driver that applies each `.localCopies` effect before it carries out the
/// effects after it never holds a copy the node's controller has given up: the change that
/// drops a copy precedes the acknowledgement that lets the home grant a write. A copy is
/// answered only before its lease end, which the controller bounds by the home's lease and
/// the record's TTL; the mirror never answers longer than the line itself could.
public struct LocalCopyMirror: Sendable {
    private var copies = LocalCopyTable()

    public init() {}

    /// Keys held (some may have passed their lease end and wait for their change).
    public var count: Int { copies.count }

    public mutating func apply(_ changes: [LocalCopyChange]) {
        for change in changes { copies[change.key] = change.copy }
    }

    /// The value a read may be answered with at `now`: `.some(nil)` for a key known absent,
    /// nil when this node holds no readable copy (ask the node).
    @inlinable public func value(of key: CacheKey, at now: Instant) -> [UInt8]?? {
        guard let copy = copy(of: key), now < copy.readableUntil else { return nil }
        return .some(copy.value)
    }

    @usableFromInline func copy(of key: CacheKey) -> LocalCopy? { copies[key] }

    /// Forgets every copy (the node stopped).
    public mutating func removeAll() { copies.removeAll() }
}

extension Node {
    /// What a read of `key` may be answered with locally at `now`, as the client would get
    /// it (`.some(nil)`: known absent); nil when this node holds no readable copy.
    public func localCacheValue(of key: [UInt8], at now: Instant) -> [UInt8]?? {
        guard let copy = localCopyChange(CacheKey(key)).copy, now < copy.readableUntil else { return nil }
        return .some(copy.value)
    }

    /// The readable copy of `key` as a client would see it: the record's payload; nothing
    /// when the record has an absolute expiry (only a home holds those) or does not decode.
    func localCopyChange(_ key: CacheKey) -> LocalCopyChange {
        guard let copy = cacheDuties.controller.localCopy(of: key) else { return LocalCopyChange(key: key, copy: nil) }
        guard let bytes = copy.value else { return LocalCopyChange(key: key, copy: copy) }
        guard let record = CacheRecord.decode(bytes) else { return LocalCopyChange(key: key, copy: nil) }
        switch record.expiry {
        case .at: return LocalCopyChange(key: key, copy: nil)
        case .never, .after:
            // The controller already ended the lease no later than a TTL's time left.
            return LocalCopyChange(key: key, copy: LocalCopy(value: record.payload, readableUntil: copy.readableUntil))
        }
    }

    /// The `.localCopies` effect of this input, if any line changed (`end(into:)`).
    func takeLocalCopyChanges() -> NodeEffect? {
        let keys = cacheDuties.controller.takeTouchedKeys()
        guard !keys.isEmpty else { return nil }
        let changes = keys.map(localCopyChange)
        if settings.plantedBugs.cacheMirrorKeepsRevokedCopies { return .localCopies(changes.filter { $0.copy != nil }) }
        return .localCopies(changes)
    }
}
