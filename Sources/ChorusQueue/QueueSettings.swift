/// The settings of one queue, fixed when it is created, stored in the replicated catalogue
/// and carried by every partition's snapshot (they shape the applied state, so every replica
/// of a partition must apply with the same values).
///
/// Length and byte limits are for the whole queue; a partition admits its share
/// (`partitionMaxLength`, `partitionMaxBytes`, the limit divided by the partition count,
/// rounded up), because partitions live on different shards and none sees the others' counts.
///
/// Invariant once `validate()` passes: every bound is positive where a zero would be
/// meaningless, every duration fits the millisecond arithmetic of the partition without
/// overflow, and an empty partition always admits a message of `maxMessageBytes`.
public struct QueueSettings: Hashable, Sendable {
    /// Partitions of the queue: 8. Kafka's broker default is 1 and
    /// JetStream streams are not partitioned; 8 spreads a queue over the shards of a small
    /// cluster while keeping per-key order inside one partition.
    public var partitions: Int = 8
    /// How long a fetched message stays leased before it is delivered again: 30 s, SQS's
    /// default visibility timeout and JetStream's default `AckWait`.
    public var visibilityTimeoutMillis: UInt64 = 30_000
    /// Longest lease a fetch or an extend may ask for: 12 h, SQS's maximum visibility timeout.
    public var maxVisibilityTimeoutMillis: UInt64 = 43_200_000
    /// Deliveries after which a message that is not acked becomes a dead letter: 5
    /// (SQS's common redrive setting). JetStream's `MaxDeliver` is unlimited by default and RabbitMQ 4's
    /// quorum-queue `delivery-limit` is 20; a small limit keeps a poison message from
    /// occupying consumers for long.
    public var maxDeliveries: Int = 5
    /// Where dead letters go (SQS's redrive policy `deadLetterTargetArn`, RabbitMQ's
    /// `x-dead-letter-exchange`); nil keeps them in the partition's dead-letter area, from
    /// which a redrive returns them.
    public var deadLetterQueue: QueueName? = nil
    /// Most messages the queue holds (ready, delayed, leased and dead letters together).
    /// SQS and JetStream are unlimited by default; Chorus bounds everything it keeps in
    /// memory: 4 million is twice the 2-million backlog the queue must hold.
    public var maxLength: Int = 4_000_000
    /// Most body bytes the queue holds: 4 GiB, twice the 2 GiB backlog of 1 KiB messages.
    public var maxBytes: Int = 4 << 30
    /// How long a producer message id is remembered: 2 min, JetStream's default duplicate
    /// window (SQS FIFO queues use 5 min). Zero turns deduplication off.
    public var dedupWindowMillis: UInt64 = 120_000
    /// Most producer ids one partition remembers; past it the oldest is forgotten early. At
    /// 8,000 ids/s per partition a 2 min window needs 960,000.
    public var maxDedupIDs: Int = 1_000_000
    /// At most one message per key leased or waiting for redelivery at a time, so a later
    /// message of a key never overtakes an earlier one (SQS FIFO message groups). Off by
    /// default, as in SQS standard queues.
    public var fifoPerKey: Bool = false
    /// Largest body accepted: 1 MiB, JetStream's default `max_payload` (SQS's limit since
    /// 2025; RabbitMQ's default is 16 MiB).
    public var maxMessageBytes: Int = 1 << 20
    /// Delay before a message whose lease ran out is delivered again, doubled for each
    /// further delivery: 1 s, then 2 s, 4 s … (JetStream's `BackOff` list made geometric).
    public var redeliveryBackoffMillis: UInt64 = 1_000
    /// Upper bound of that delay: 60 s.
    public var maxRedeliveryBackoffMillis: UInt64 = 60_000
    /// Longest delay a nack may ask for: 15 min, SQS's maximum message delay.
    public var maxNackDelayMillis: UInt64 = 900_000
    /// Most messages one fetch may lease. SQS's limit is 10 per receive; JetStream's pull
    /// batches are larger, and a batch is one Raft entry, so 1,000.
    public var maxFetchMessages: Int = 1_000

    /// Largest `maxMessageBytes` any queue may set, and the codec's bound for one body.
    public static let messageBytesCeiling = 4 << 20
    /// Largest partition count (partition indices are 16-bit on the wire).
    public static let partitionCeiling = 1_024
    /// Longest duration any setting may hold: one day, far inside `UInt64` millisecond sums.
    public static let durationCeilingMillis: UInt64 = 86_400_000

    public init() {}

    /// A partition's share of `maxLength`.
    public var partitionMaxLength: Int { QueueSettings.share(maxLength, partitions) }
    /// A partition's share of `maxBytes`.
    public var partitionMaxBytes: Int { QueueSettings.share(maxBytes, partitions) }

    static func share(_ total: Int, _ parts: Int) -> Int { parts < 1 ? total : total / parts + (total % parts == 0 ? 0 : 1) }

    /// Refuses an invalid combination with a message naming the setting and its rule.
    public func validate() throws(QueueSettingsError) {
        func need(_ ok: Bool, _ message: @autoclosure () -> String) throws(QueueSettingsError) {
            if !ok { throw QueueSettingsError(message()) }
        }
        try need((1...QueueSettings.partitionCeiling).contains(partitions),
                 "partitions must be 1…\(QueueSettings.partitionCeiling), got \(partitions)")
        try need(maxVisibilityTimeoutMillis >= 1 && maxVisibilityTimeoutMillis <= QueueSettings.durationCeilingMillis,
                 "max_visibility_timeout_ms must be 1…\(QueueSettings.durationCeilingMillis), got \(maxVisibilityTimeoutMillis)")
        try need(visibilityTimeoutMillis >= 1 && visibilityTimeoutMillis <= maxVisibilityTimeoutMillis,
                 "visibility_timeout_ms must be 1…max_visibility_timeout_ms (\(maxVisibilityTimeoutMillis)), got \(visibilityTimeoutMillis)")
        try need((1...1_000).contains(maxDeliveries), "max_deliveries must be 1…1000 (SQS's maxReceiveCount range), got \(maxDeliveries)")
        try need((1...QueueSettings.messageBytesCeiling).contains(maxMessageBytes),
                 "max_message_bytes must be 1…\(QueueSettings.messageBytesCeiling), got \(maxMessageBytes)")
        try need(maxLength >= partitions && maxLength <= 1 << 40, "max_length must be partitions (\(partitions))…2^40, got \(maxLength)")
        try need(maxBytes <= 1 << 50, "max_bytes must be at most 2^50, got \(maxBytes)")
        try need(partitionMaxBytes >= maxMessageBytes,
                 "max_bytes (\(maxBytes)) must give each of the \(partitions) partitions room for one message of max_message_bytes (\(maxMessageBytes))")
        try need(dedupWindowMillis <= QueueSettings.durationCeilingMillis,
                 "dedup_window_ms must be at most \(QueueSettings.durationCeilingMillis), got \(dedupWindowMillis)")
        try need((1...(1 << 32)).contains(maxDedupIDs), "max_dedup_ids must be 1…2^32, got \(maxDedupIDs)")
        try need(maxRedeliveryBackoffMillis <= QueueSettings.durationCeilingMillis,
                 "max_redelivery_backoff_ms must be at most \(QueueSettings.durationCeilingMillis), got \(maxRedeliveryBackoffMillis)")
        try need(redeliveryBackoffMillis <= maxRedeliveryBackoffMillis,
                 "redelivery_backoff_ms (\(redeliveryBackoffMillis)) must be at most max_redelivery_backoff_ms (\(maxRedeliveryBackoffMillis))")
        try need(maxNackDelayMillis <= QueueSettings.durationCeilingMillis,
                 "max_nack_delay_ms must be at most \(QueueSettings.durationCeilingMillis), got \(maxNackDelayMillis)")
        try need((1...100_000).contains(maxFetchMessages), "max_fetch_messages must be 1…100000, got \(maxFetchMessages)")
    }

    /// The delay before delivery number `deliveries + 1` after a lease ran out:
    /// `redeliveryBackoffMillis · 2^(deliveries − 1)`, at most `maxRedeliveryBackoffMillis`.
    public func redeliveryDelayMillis(afterDeliveries deliveries: UInt32) -> UInt64 {
        let doublings = UInt64(min(max(deliveries, 1) - 1, 40))
        let delay = redeliveryBackoffMillis.multipliedReportingOverflow(by: 1 << doublings)
        return delay.overflow ? maxRedeliveryBackoffMillis : min(delay.partialValue, maxRedeliveryBackoffMillis)
    }
}

/// A setting that failed validation. Invariant: the message names the setting and its rule.
public struct QueueSettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
