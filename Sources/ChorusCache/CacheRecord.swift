import ChorusBase
import ChorusWire

/// A cache value as the node layer gives it to the protocol cores: the client's bytes and
/// when they stop existing. The cores carry values as opaque bytes; only the controller looks
/// inside, and only when `CacheSettings.copiesEndWithRecords` is set, to end a copy no later
/// than its record.
///
/// ```
/// record = 0 · payload                       never expires
///        | 1 · atMillis varint · payload     expires when the wall clock of the key's home
///                                            reaches atMillis (the home's entry, the shard)
///        | 2 · remaining varint · payload    expires `remaining` ms after the reader first
///                                            sent the request this answers (the home's data)
/// ```
///
/// Invariant: `decode(encoded()) == self`; `decode` is total (nil for anything else) and a
/// record that never expires encodes exactly as `CacheMutation.set(payload, ttlMillis: nil)`,
/// so a plain write's own value is already its record.
public struct CacheRecord: Hashable, Sendable {
    public enum Expiry: Hashable, Sendable {
        case never
        /// Wall-clock milliseconds (since 1970) of the key's home.
        case at(wallMillis: UInt64)
        /// Milliseconds after the reader's request was first sent (its monotonic clock).
        case after(millis: UInt64)
    }

    public var payload: [UInt8]
    public var expiry: Expiry

    public init(_ payload: [UInt8], expiry: Expiry = .never) {
        self.payload = payload
        self.expiry = expiry
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: payload.count + 11)
        switch expiry {
        case .never: w.u8(0)
        case let .at(t): w.u8(1); w.varint(t)
        case let .after(d): w.u8(2); w.varint(d)
        }
        w.raw(payload)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> CacheRecord? {
        var r = ByteReader(bytes)
        do {
            let expiry: Expiry
            switch try r.u8() {
            case 0: expiry = .never
            case 1: expiry = .at(wallMillis: try r.varint())
            case 2: expiry = .after(millis: try r.varint())
            default: return nil
            }
            return CacheRecord(Array(bytes[(bytes.count - r.remaining)...]), expiry: expiry)
        } catch {
            return nil
        }
    }

    /// The record as the home sends it when its wall clock reads `wallMillis`: an absolute
    /// expiry becomes the time left, so the reader counts it down on its own monotonic clock
    /// and never needs to agree with the home's wall clock. Nil when it has expired (an
    /// expired key reads as absent).
    public func sent(atWall wallMillis: UInt64) -> CacheRecord? {
        switch expiry {
        case .never, .after: return self
        case let .at(t):
            guard t > wallMillis else { return nil }
            return CacheRecord(payload, expiry: .after(millis: t - wallMillis))
        }
    }

    /// How long a copy of this record may live counted from its request, when it says.
    public var lifetime: Interval? {
        guard case let .after(d) = expiry else { return nil }
        return Self.interval(millis: d)
    }

    /// `lifetime` of an encoded record, read from its header alone (no copy of the payload).
    public static func lifetime(ofEncoded bytes: [UInt8]) -> Interval? {
        guard bytes.first == 2 else { return nil }
        var r = ByteReader(bytes)
        guard (try? r.u8()) != nil, let d = try? r.varint() else { return nil }
        return interval(millis: d)
    }

    /// Whether an encoded record expires at an instant of the home's wall clock.
    public static func expiresAtWallClock(_ bytes: [UInt8]) -> Bool { bytes.first == 1 }

    static func interval(millis d: UInt64) -> Interval {
        .milliseconds(Int64(clamping: min(d, UInt64(Int64.max / 1_000_000))))
    }
}
