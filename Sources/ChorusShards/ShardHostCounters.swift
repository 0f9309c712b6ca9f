/// What a `ShardHost` counts, for metrics. Invariant: counters only grow.
public struct ShardHostCounters: Sendable, Equatable {
    public var proposals = 0
    public var applied = 0
    public var duplicatesSuppressed = 0
    public var commandsUnreadable = 0
    public var electionsWon = 0
    public var campaigns = 0
    public var snapshotsSent = 0
    public var snapshotsTaken = 0
    public var snapshotsInstalled = 0
    public var snapshotsUnreadable = 0
    public var reconfigurations = 0
    public var reconfigurationsDeferred = 0
    public var replicasCreated = 0
    public var replicasRemoved = 0
    public var batchesReceived = 0
    public var batchesOtherEpoch = 0
    public var batchesMisaddressed = 0
    public var messagesForUnknownShards = 0
    public var removalNotices = 0
    /// Reports from the transport that a batch or frame to a peer was not delivered.
    public var peersUnreachable = 0
    /// Snapshot chunks sent; chunks that did not continue any transfer; images that arrived
    /// whole but damaged (checksum or format).
    public var snapshotChunksSent = 0
    public var snapshotChunksIgnored = 0
    public var snapshotsDamaged = 0
    /// Snapshots sent as a records image followed by bodies read from the body logs; the
    /// most bytes of a snapshot a sending transfer held in memory; the most a receiving
    /// transfer held at once (its head and one body). "Only grow": they are high-water marks.
    public var snapshotsStreamed = 0
    public var snapshotBytesHeldSending = 0
    public var snapshotBytesHeldReceiving = 0
    /// Groups that stopped ticking, that started again, and followers that campaigned because
    /// membership reported their quiescent group's leader unavailable (`ShardHost+Quiescence`).
    public var groupsQuiesced = 0
    public var groupsWoken = 0
    public var leaderLossCampaigns = 0
    public init() {}
}
