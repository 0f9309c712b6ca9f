import ChorusBase

/// The simulated network between `nodeCount` nodes: decides each packet's fate and schedules
/// its arrival in the driver's event queue.
///
/// Invariants:
/// - Datagrams (`reliable: false`) follow `model`: lost with probability `loss`, else delivered
///   once or (with probability `duplication`) twice, each copy with its own latency sample and
///   maybe a reordering delay.
/// - Reliable sends model a stream (TCP-like): never lost, duplicated or reordered; on each
///   directed link a delivery is never scheduled before the previous reliable delivery there.
///   A crash of either endpoint while a reliable packet is in flight breaks the stream and the
///   packet is dropped, even if the node has restarted by the time it would arrive. A
///   graceful `exit` closes streams cleanly: what the node sent before still arrives.
/// - Reachability is checked twice: at send (`partitionAtSend`) and again at arrival
///   (`partitionInFlight`), so a partition that forms while a packet flies drops it.
/// - A node's extra latency (an overloaded, "slow" node) is added to everything it sends and
///   everything it receives.
/// - Randomness comes only from the `SeededRandom` passed in; no decision follows hash order.
public struct Network<Message> {
    public let nodeCount: Int
    /// Delay, loss, duplication and reordering; may be changed at any time.
    public var model: NetworkModel
    /// Reachability; may be changed at any time (a scenario's partition, cut and heal).
    public var partition: Partition
    /// Traffic totals since the network was made.
    @inlinable public var counters: NetworkCounters { tally }
    /// Packets scheduled and not yet passed to `arrive`.
    @inlinable public var inFlight: Int { pending }

    @usableFromInline var tally = NetworkCounters()
    @usableFromInline var pending = 0

    @usableFromInline var up: [Bool]
    @usableFromInline var epoch: [UInt32]
    @usableFromInline var extraLatency: [Int64]
    /// Latest scheduled reliable delivery per directed link and endpoint epochs. Entries at or
    /// before "now" constrain nothing and are pruned when the table grows.
    @usableFromInline var streamTail: [StreamKey: Int64] = [:]
    @usableFromInline var streamPruneThreshold: Int

    @usableFromInline
    struct StreamKey: Hashable, Sendable {
        @usableFromInline var from: Int32
        @usableFromInline var to: Int32
        @usableFromInline var fromEpoch: UInt32
        @usableFromInline var toEpoch: UInt32

        @inlinable init(from: Int32, to: Int32, fromEpoch: UInt32, toEpoch: UInt32) {
            self.from = from
            self.to = to
            self.fromEpoch = fromEpoch
            self.toEpoch = toEpoch
        }
    }

    /// All nodes up, reachable and at normal speed.
    public init(nodeCount: Int, model: NetworkModel = NetworkModel()) {
        self.nodeCount = nodeCount
        self.model = model
        self.partition = Partition(nodeCount: nodeCount)
        up = Array(repeating: true, count: nodeCount)
        epoch = Array(repeating: 0, count: nodeCount)
        extraLatency = Array(repeating: 0, count: nodeCount)
        streamPruneThreshold = Swift.max(1024, 2 * nodeCount)
    }

    // MARK: Node state

    @inlinable public func isUp(_ node: SimNodeID) -> Bool { up[node.index] }

    /// Marks `node` down: packets reaching it are dropped and its reliable streams break.
    public mutating func crash(_ node: SimNodeID) {
        up[node.index] = false
        epoch[node.index] &+= 1
    }

    /// `node`'s process exited after a graceful leave: packets reaching it are dropped, but
    /// what it sent before still arrives, as data written before a clean close does. (A
    /// restart later breaks its old streams: `crash` then `restart`.)
    public mutating func exit(_ node: SimNodeID) {
        up[node.index] = false
    }

    /// Marks `node` up again; it receives datagrams still in flight to it, not stream packets.
    public mutating func restart(_ node: SimNodeID) {
        up[node.index] = true
    }

    public func extraLatency(of node: SimNodeID) -> Interval { Interval(nanoseconds: extraLatency[node.index]) }

    /// Slows `node` down: `extra` is added to every packet it sends and every packet it
    /// receives (`.zero` restores it).
    public mutating func setExtraLatency(_ extra: Interval, for node: SimNodeID) {
        precondition(extra >= .zero, "extra latency must not be negative")
        extraLatency[node.index] = extra.nanoseconds
    }

    // MARK: Packets

    /// Sends `message` (`bytes` long, for accounting) from `from` to `to` at `now`: decides
    /// drop, duplication and delay, and pushes one `Event.delivery(packet)` per copy into
    /// `queue` at its arrival time.
    @inlinable
    public mutating func transmit<Event: PacketEvent>(
        from: SimNodeID, to: SimNodeID, message: Message, bytes: Int, reliable: Bool,
        at now: Instant, rng: inout SeededRandom, into queue: inout EventQueue<Event>
    ) where Event.Message == Message {
        tally.sentMessages += 1
        tally.sentBytes += bytes
        guard up[from.index] else {
            tally.recordDrop(.sourceDown, bytes: bytes)
            return
        }
        guard partition.canReach(from: from, to: to) else {
            tally.recordDrop(.partitionAtSend, bytes: bytes)
            return
        }
        let extra = extraLatency[from.index] &+ extraLatency[to.index]
        let latency = model.latency(from: from, to: to)
        var packet = Packet(from: from, to: to, message: message, bytes: Int32(clamping: bytes), reliable: reliable,
                            isDuplicate: false, fromEpoch: epoch[from.index], toEpoch: epoch[to.index], sentAt: now)
        if reliable {
            var arrival = now.nanoseconds &+ latency.sample(using: &rng).nanoseconds &+ extra
            let key = StreamKey(from: from.rawValue, to: to.rawValue, fromEpoch: packet.fromEpoch, toEpoch: packet.toEpoch)
            if let tail = streamTail[key], tail > arrival { arrival = tail }
            streamTail[key] = arrival
            if streamTail.count > streamPruneThreshold { pruneStreams(before: now) }
            pending += 1
            queue.push(.delivery(packet), at: Instant(nanoseconds: arrival))
            return
        }
        if model.loss > 0 && rng.unit() < model.loss {
            tally.recordDrop(.loss, bytes: bytes)
            return
        }
        let duplicate = model.duplication > 0 && rng.unit() < model.duplication
        pending += 1
        queue.push(.delivery(packet), at: now + datagramDelay(latency, extra: extra, rng: &rng))
        if duplicate {
            tally.duplicated += 1
            packet.isDuplicate = true
            pending += 1
            queue.push(.delivery(packet), at: now + datagramDelay(latency, extra: extra, rng: &rng))
        }
    }

    @inlinable
    mutating func datagramDelay(_ latency: LatencyModel, extra: Int64, rng: inout SeededRandom) -> Interval {
        var delay = latency.sample(using: &rng).nanoseconds &+ extra
        if model.reorder > 0 && rng.unit() < model.reorder {
            tally.reordered += 1
            delay &+= Int64(rng.unit() * Double(model.reorderSpan.nanoseconds))
        }
        return Interval(nanoseconds: delay)
    }

    /// Removes stream tails that no longer constrain anything (at or before `now`). The result
    /// does not depend on the table's iteration order: every removed entry is inert.
    @usableFromInline
    mutating func pruneStreams(before now: Instant) {
        let cutoff = now.nanoseconds
        streamTail = streamTail.filter { $0.value > cutoff }
        streamPruneThreshold = Swift.max(1024, 2 * nodeCount, 2 * streamTail.count)
    }

    /// Called by the driver when a delivery event pops: true if the packet reaches its
    /// destination. Checks, in order: destination up, reliable stream intact, reachability.
    @inlinable
    public mutating func arrive(_ packet: Packet<Message>, at now: Instant) -> Bool {
        pending -= 1
        let bytes = Int(packet.bytes)
        if !up[packet.to.index] {
            tally.recordDrop(.destinationDown, bytes: bytes)
            return false
        }
        if packet.reliable && (epoch[packet.from.index] != packet.fromEpoch || epoch[packet.to.index] != packet.toEpoch) {
            tally.recordDrop(.streamBroken, bytes: bytes)
            return false
        }
        if !partition.canReach(from: packet.from, to: packet.to) {
            tally.recordDrop(.partitionInFlight, bytes: bytes)
            return false
        }
        tally.deliveredMessages += 1
        tally.deliveredBytes += bytes
        return true
    }
}

extension Network: Sendable where Message: Sendable {}
