import ChorusWire

/// The replicated list of queues and their settings, applied in log order on every replica
/// of the shard that holds it. Pure and deterministic, like `QueuePartition`.
///
/// Invariants:
/// - at most `maxQueues` queues;
/// - a queue's dead-letter queue exists, is not the queue itself, and was created before it
///   (so dead-letter chains have no cycle), and a queue named as one cannot be deleted;
/// - settings never change after creation (partitions apply with them);
/// - equal catalogues applying equal entries stay equal and reply equally.
public struct QueueCatalogue: Hashable, Sendable {
    /// Most queues: 10,000 (each has up to 1,024 partitions spread over the shards).
    public let maxQueues: Int
    public internal(set) var appliedIndex: UInt64 = 0
    var queues: [QueueName: QueueInfo] = [:]

    public init(maxQueues: Int = 10_000) {
        precondition(maxQueues >= 1, "a catalogue holds at least one queue")
        self.maxQueues = maxQueues
    }

    /// Every queue, in name order.
    public func list() -> [QueueInfo] { queues.keys.sorted().compactMap { queues[$0] } }

    public func info(_ name: QueueName) -> QueueInfo? { queues[name] }

    public mutating func apply(_ entry: CatalogueEntry, index: UInt64) -> CatalogueReply {
        precondition(index > appliedIndex, "entries must be applied in increasing index order (\(index) after \(appliedIndex))")
        appliedIndex = index
        switch entry.command {
        case let .create(name, settings):
            if let existing = queues[name] { return existing.settings == settings ? .exists(existing) : .conflict(existing) }
            if let dlq = settings.deadLetterQueue, dlq == name || queues[dlq] == nil { return .deadLetterQueueMissing(dlq) }
            guard queues.count < maxQueues else { return .full(limit: maxQueues) }
            let info = QueueInfo(name: name, settings: settings, incarnation: index, createdAtMillis: entry.nowMillis)
            queues[name] = info
            return .created(info)
        case let .delete(name):
            guard let info = queues[name] else { return .notFound(name) }
            let users = queues.values.filter { $0.settings.deadLetterQueue == name }.map(\.name).sorted()
            guard users.isEmpty else { return .inUse(by: users) }
            queues[name] = nil
            return .deleted(info)
        }
    }

    /// Applies an entry as it came out of the log: undecodable bytes are `.invalid`.
    public mutating func apply(encoded bytes: [UInt8], index: UInt64) -> CatalogueReply {
        do {
            return apply(try CatalogueCodec.decodeEntry(bytes), index: index)
        } catch {
            precondition(index > appliedIndex, "entries must be applied in increasing index order (\(index) after \(appliedIndex))")
            appliedIndex = index
            return .invalid("undecodable catalogue entry: \(error)")
        }
    }
}
