/// Why the simulated network did not deliver a packet.
///
/// Invariant: every undelivered packet is counted under exactly one reason; `rawValue`s are
/// dense from 0 so counters index an array by reason.
public enum DropReason: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// Random datagram loss (`NetworkModel.loss`).
    case loss
    /// Sender and receiver could not reach each other when it was sent.
    case partitionAtSend
    /// A partition or cut formed while it was in flight.
    case partitionInFlight
    /// The sender was down (a driver sending for a crashed node).
    case sourceDown
    /// The receiver was down when it arrived.
    case destinationDown
    /// A reliable stream broke: an endpoint crashed (and maybe restarted) while it was in flight.
    case streamBroken

    public var description: String {
        switch self {
        case .loss: "loss"
        case .partitionAtSend: "partition-at-send"
        case .partitionInFlight: "partition-in-flight"
        case .sourceDown: "source-down"
        case .destinationDown: "destination-down"
        case .streamBroken: "stream-broken"
        }
    }
}

/// Traffic totals of a simulated network.
///
/// Invariant: every `transmit` adds one to `sentMessages`; each sent packet ends as exactly one
/// of a drop at send, a delivery or a drop at arrival, and a duplicate adds one more packet to
/// that fate, so `sentMessages + duplicated == deliveredMessages + totalDropped + inFlight`.
public struct NetworkCounters: Sendable, Equatable {
    public var sentMessages = 0
    public var sentBytes = 0
    public var deliveredMessages = 0
    public var deliveredBytes = 0
    /// Extra copies made by duplication.
    public var duplicated = 0
    /// Datagrams that got a reordering delay.
    public var reordered = 0
    @usableFromInline var droppedByReason = [Int](repeating: 0, count: DropReason.allCases.count)
    @usableFromInline var droppedBytesByReason = [Int](repeating: 0, count: DropReason.allCases.count)

    public init() {}

    public func dropped(_ reason: DropReason) -> Int { droppedByReason[reason.rawValue] }
    public func droppedBytes(_ reason: DropReason) -> Int { droppedBytesByReason[reason.rawValue] }
    public var totalDropped: Int { droppedByReason.reduce(0, +) }

    /// Adds another tally (of another part of the same network) to this one.
    public mutating func add(_ other: NetworkCounters) {
        sentMessages += other.sentMessages
        sentBytes += other.sentBytes
        deliveredMessages += other.deliveredMessages
        deliveredBytes += other.deliveredBytes
        duplicated += other.duplicated
        reordered += other.reordered
        for i in droppedByReason.indices {
            droppedByReason[i] += other.droppedByReason[i]
            droppedBytesByReason[i] += other.droppedBytesByReason[i]
        }
    }

    @inlinable
    mutating func recordDrop(_ reason: DropReason, bytes: Int) {
        droppedByReason[reason.rawValue] += 1
        droppedBytesByReason[reason.rawValue] += bytes
    }
}
