import ChorusBase
import ChorusMembership

/// What the node asks its driver to do, in the order appended.
///
/// Obligations of the driver, in this order after every input:
/// 1. If `node.host.hasReady`, drive the shard host through its store (persist, fsync, then
///    send the batches to `node.address(of:)`, then advance — `ShardStore.drive` keeps that
///    order) and hand the replies to `node.shardsAdvanced(_:at:into:)`; repeat while the host
///    has work.
/// 2. Carry out the effects in order: `.persistIncarnation` saves and fsyncs the incarnation
///    before any later effect is carried out (it precedes the packets that carry it);
///    `.send` and `.streamPacket` write to the peer stream of that address (frames to one
///    peer keep their order), `.datagram` sends one UDP datagram, `.reply` answers the client
///    ticket exactly once (a ticket is answered at most once by the node), `.log` writes a
///    line, `.memberEvent` is for metrics and subscribers (its log line is a `.log` of its own),
///    `.localCopies` updates the driver's `LocalCopyMirror` before any later effect.
/// 3. Arm a timer for `node.nextDeadline` (the membership's timers) besides the periodic
///    `tick`, and call `wake(at:into:)` when it fires.
/// Nothing in an effect depends on unsynced state: replies that report a commit come only
/// from `shardsAdvanced`, which runs after the fsync that covers the entry.
public enum NodeEffect: Sendable {
    case reply(ClientTicket, ClientReply)
    /// A peer RPC frame (`PeerMessageCodec` bytes) for the node at that address.
    case send(to: Endpoint, frame: [UInt8])
    case log(NodeLogLine)
    /// The incarnation this node now uses: persist it (durably) before carrying out any later
    /// effect, so a restart starts above every incarnation it ever announced.
    case persistIncarnation(Incarnation)
    /// A membership packet (`PacketCodec` bytes) to send as one UDP datagram (the driver may
    /// seal it); loss is expected and tolerated.
    case datagram(to: Endpoint, bytes: [UInt8], kind: MessageKind)
    /// A membership packet (`PacketCodec` bytes) for the peer stream of that address: joins,
    /// push-pull state syncs and stream probes.
    case streamPacket(to: Endpoint, bytes: [UInt8], kind: MessageKind)
    /// A change in this node's membership view.
    case memberEvent(MemberEvent)
    /// Cache lines whose locally readable copy changed, for a `LocalCopyMirror`: apply it
    /// before carrying out the effects after it (it always comes first in its input's effects).
    case localCopies([LocalCopyChange])
}

/// A structured log line of the node.
public struct NodeLogLine: Sendable, Equatable {
    public enum Level: Sendable, Equatable { case debug, info, warn, error }
    public var level: Level
    public var message: String
    public var fields: [(String, String)]

    public init(_ level: Level, _ message: String, _ fields: [(String, String)] = []) {
        self.level = level; self.message = message; self.fields = fields
    }

    public static func == (a: NodeLogLine, b: NodeLogLine) -> Bool {
        a.level == b.level && a.message == b.message && a.fields.map(\.0) == b.fields.map(\.0) && a.fields.map(\.1) == b.fields.map(\.1)
    }
}

/// The two clocks an input arrives with: a monotonic instant for every duration, and the
/// wall clock in milliseconds, read only to stamp sessions (their age, for display).
public struct NodeTime: Sendable {
    public var now: Instant
    public var wallMillis: UInt64
    public init(now: Instant, wallMillis: UInt64) { self.now = now; self.wallMillis = wallMillis }
}
