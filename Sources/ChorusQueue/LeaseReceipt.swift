/// Names one delivery of one message in a partition: its offset and the delivery number
/// (the message's delivery count right after that fetch). Ack, nack and extend carry it.
///
/// Invariant: a receipt acts only while its delivery's lease is the message's current one;
/// after the lease ran out (and the message was delivered again, or not) the receipt is
/// answered `.leaseLost`, so a slow consumer cannot ack away a message another consumer
/// now holds, nor extend a lease it no longer has (SQS receipt handles behave alike).
public struct LeaseReceipt: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let offset: UInt64
    public let delivery: UInt32

    public init(offset: UInt64, delivery: UInt32) { self.offset = offset; self.delivery = delivery }

    /// "offset.delivery", the form the API shows.
    public var description: String { "\(offset).\(delivery)" }

    /// Parses "offset.delivery".
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let offset = UInt64(parts[0]), let delivery = UInt32(parts[1]) else { return nil }
        self.init(offset: offset, delivery: delivery)
    }

    public static func < (a: LeaseReceipt, b: LeaseReceipt) -> Bool { (a.offset, a.delivery) < (b.offset, b.delivery) }
}
