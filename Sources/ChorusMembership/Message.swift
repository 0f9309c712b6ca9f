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

/// A full-state exchange: the sender's whole member table (tombstones included).
public struct PushPull: Hashable, Sendable {
    public var isJoin: Bool
    public var isResponse: Bool
    /// In a response: the responder learned members from the request (the cluster is in
    /// flux, so the requester keeps syncing too).
    public var responderLearned: Bool
    public var members: [MemberUpdate]
    public init(isJoin: Bool, isResponse: Bool, responderLearned: Bool = false, members: [MemberUpdate]) {
        self.isJoin = isJoin
        self.isResponse = isResponse
        self.responderLearned = responderLearned
        self.members = members
    }
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
