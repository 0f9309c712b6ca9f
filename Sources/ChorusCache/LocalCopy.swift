import ChorusBase

/// What a controller may answer a read of one key with, without asking its home: the value
/// (nil when the key is known to be absent) and the instant its lease ends. Invariant: a
/// copy is readable only before `readableUntil`, the same bound the controller itself keeps
/// (`CacheController.readableValue(of:at:)`), so a mirror that holds it reads no longer
/// than the line could.
public struct LocalCopy: Hashable, Sendable {
    public var value: [UInt8]?
    public var readableUntil: Instant

    public init(value: [UInt8]?, readableUntil: Instant) {
        self.value = value
        self.readableUntil = readableUntil
    }
}
