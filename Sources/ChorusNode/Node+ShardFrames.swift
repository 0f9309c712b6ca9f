import ChorusBase
import ChorusRaft
import ChorusShards
import ChorusWire

// Shard batches on their way out of the node. The node, not its drivers, decides how a batch
// becomes frames and what happens to one that cannot leave, so the runtime and the simulator
// carry out one rule.
extension Node {
    /// The frames that carry `batches` (what `ShardStore.drive` hands its `send`), each with
    /// the address it goes to, in sending order. Every batch is split below `maxFrameBytes`
    /// with its heartbeats in the first frame (`ShardBatchCodec.frames`), so catching up many
    /// groups never costs them their heartbeats.
    ///
    /// A batch to a peer with no live address, and a frame that alone exceeds the limit (the
    /// transport would refuse it), are not handed out: their peer is reported unreachable to
    /// every group this node leads at the next `shardsAdvanced` — the drive that produced the
    /// batches holds the host until then — so those leaders probe it instead of streaming
    /// entries into the void. A frame the transport refuses later (a full queue, a broken
    /// stream) is the driver's to report, through `peerUnreachable(_:at:into:)`.
    public func frames(for batches: [ShardBatch], maxFrameBytes: Int = Frame.defaultMaxBytes) -> [(to: Endpoint, frame: [UInt8])] {
        var out: [(to: Endpoint, frame: [UInt8])] = []
        for batch in batches {
            guard let address = address(of: batch.to) else {
                undelivered(batch.to)
                continue
            }
            for frame in ShardBatchCodec.frames(batch, maxFrameBytes: maxFrameBytes) {
                guard frame.count <= maxFrameBytes else {
                    undelivered(batch.to)
                    continue
                }
                out.append((address, frame))
            }
        }
        return out
    }

    /// Notes that something for `peer` did not leave (reported once per drive).
    private func undelivered(_ peer: NodeID) {
        counters.shardFramesUndelivered &+= 1
        if !peersUndelivered.contains(peer) { peersUndelivered.append(peer) }
    }

    /// Tells the groups about the peers whose batches or frames did not leave, in the order
    /// they were noted.
    func reportUndelivered() {
        guard !peersUndelivered.isEmpty else { return }
        let peers = peersUndelivered
        peersUndelivered = []
        for peer in peers { host.reportUnreachable(peer: peer) }
    }
}
