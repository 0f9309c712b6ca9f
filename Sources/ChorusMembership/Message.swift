import ChorusBase

/// Every message a membership node sends. One message travels per packet, with as many
/// piggybacked `MemberUpdate`s as fit (`Packet`).
public enum Message: Hashable, Sendable {
    /// SWIM ping: "are you `target`?" Answered by `ack(seq)` when the name matches.
    case ping(seq: UInt32, target: String)
    /// SWIM ping-req: "ping `target` at `address` for me and relay the ack"; `timeout` tells
    /// the relay when to give up and answer `nack` (Lifeguard §IV.A).
    case pingReq(seq: UInt32, target: String, address: Endpoint, timeout: Interval)
    case ack(seq: UInt32)
    /// Lifeguard nack: the relay reached no answer from the target; proves the relay (and
    /// this node's link to it) is healthy.
    case nack(seq: UInt32)
    /// Only piggybacked updates.
    case gossip
    /// Full-state anti-entropy; a join is a push-pull request to a seed.
    case pushPull(PushPull)

    public var kind: MessageKind {
        switch self {
        case .ping: return .ping
        case .pingReq: return .pingReq
        case .ack: return .ack
        case .nack: return .nack
        case .gossip: return .gossip
        case let .pushPull(p): return p.isJoin ? .join : .pushPull
        }
    }
}

/// Anti-entropy between two members (SWIM's push-pull, memberlist's state sync).
///
/// Two forms. A *full* sync (joins, reconnects) carries the requester's whole table and is
/// answered with what the requester lacks. A *digest* sync (routine and catch-up syncs)
/// carries only fingerprints of the requester's table in `digest.count` buckets; the
/// responder answers with its members in the buckets that differ (`buckets`), and the
/// requester pushes back what the responder lacks in them (`phase == .push`, no answer).
/// Invariant: `digest` is set only on a request, `buckets` only on a response.
public struct PushPull: Hashable, Sendable {
    public enum Phase: UInt8, Sendable { case request = 0, response = 1, push = 2 }
    public var isJoin: Bool
    public var phase: Phase
    /// In a response: the responder learned members from the request (the cluster is in
    /// flux, so the requester keeps syncing too).
    public var responderLearned: Bool
    /// In a digest request: per-bucket fingerprints of the sender's table (power-of-two count).
    public var digest: [UInt64]?
    /// In a response to a digest request: the buckets whose members follow, out of
    /// `bucketCount` (the request's digest size).
    public var buckets: [UInt32]?
    public var bucketCount: Int?
    public var members: [MemberUpdate]

    public var isResponse: Bool { phase == .response }

    public init(isJoin: Bool, phase: Phase, responderLearned: Bool = false, digest: [UInt64]? = nil,
                buckets: [UInt32]? = nil, members: [MemberUpdate]) {
        self.isJoin = isJoin
        self.phase = phase
        self.responderLearned = responderLearned
        self.digest = digest
        self.buckets = buckets
        self.members = members
    }

    public init(isJoin: Bool, isResponse: Bool, responderLearned: Bool = false, members: [MemberUpdate]) {
        self.init(isJoin: isJoin, phase: isResponse ? .response : .request, responderLearned: responderLearned, members: members)
    }

    /// Most digest buckets a sync may use.
    public static let maxBuckets = 4096
}

/// Message types, for counting and labelling metrics.
public enum MessageKind: String, Sendable, CaseIterable {
    case ping, pingReq = "ping_req", ack, nack, gossip, pushPull = "push_pull", join
}

/// What travels in one datagram or stream frame: the cluster it belongs to, who sent it,
/// one message and piggybacked gossip.
public struct Packet: Hashable, Sendable {
    public var cluster: UInt32
    public var sender: String
    public var message: Message
    public var updates: [MemberUpdate]

    public init(cluster: UInt32, sender: String, message: Message, updates: [MemberUpdate] = []) {
        self.cluster = cluster
        self.sender = sender
        self.message = message
        self.updates = updates
    }
}

/// How a packet must travel: a datagram may be lost; a stream (TCP) is reliable and may be
/// larger than a datagram's budget.
public enum Transport: Sendable, Hashable {
    case datagram
    case stream
}
