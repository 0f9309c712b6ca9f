import ChorusBase
import ChorusMembership
import ChorusNode
import ChorusShards

// Packets in and out: datagrams from the UDP socket, frames from peer streams, and the
// core's effects (sends and events) carried out in order.
extension Agent {

    /// Reads waiting datagrams (bounded per turn so streams and the API are not starved).
    func readDatagrams() {
        var received = false
        for _ in 0..<256 {
            do {
                guard let (bytes, from) = try udp.receive() else { break }
                received = true
                guard let opened = transportSeal.incoming(bytes, from: from, transport: "udp") else { continue }
                handlePacket(opened, from: from, transport: "udp")
            } catch {
                if case let .datagramTooLarge(size, limit, from) = error {
                    metrics.dropped(.oversized)
                    log.debug("dropped oversized datagram", ["from": from, "bytes": size, "limit": limit])
                    continue
                }
                metrics.dropped(.receiveError)
                log.debug("UDP receive failed", ["error": error.description])
                break
            }
        }
        if received { afterInput() }
    }

    /// Decodes one datagram or frame and hands it to the core; bad bytes are counted and
    /// logged, never fatal.
    func handlePacket(_ bytes: [UInt8], from source: Endpoint, transport: String) {
        if ShardBatchCodec.isBatch(bytes) || PeerMessageCodec.isMessage(bytes) {
            // Shard batches and peer RPC only travel on peer streams; a datagram claiming to be
            // one is noise.
            if transport == "tcp" { receiveNodeFrame(bytes, from: source) } else { metrics.dropped(.decodeError) }
            return
        }
        let packet: Packet
        do {
            packet = try PacketCodec.decode(bytes)
        } catch {
            metrics.dropped(.decodeError)
            log.debug("dropped undecodable packet", ["from": source, "transport": transport, "bytes": bytes.count,
                                                     "reason": error.description])
            return
        }
        if packet.cluster != settings.membership.cluster {
            // The core counts it (droppedWrongCluster); say so here, where the source is known.
            log.debug("dropped packet of another cluster", ["from": source, "sender": packet.sender, "cluster_id": packet.cluster])
        } else {
            metrics.received(packet.message.kind, bytes: bytes.count)
        }
        membership.receive(packet, from: source, via: transport == "tcp" ? .stream : .datagram, at: loop.now(), into: &effects)
    }

    /// Carries out the effects the core appended, in order.
    func perform() {
        guard !effects.isEmpty else { return }
        var batch: [MembershipEffect] = []
        swap(&batch, &effects)
        for effect in batch {
            switch effect {
            case let .send(packet, to, via):
                let bytes = PacketCodec.encode(packet)
                metrics.sent(packet.message.kind, bytes: bytes.count)
                switch via {
                case .datagram:
                    guard let sealed = transportSeal.outgoing(bytes) else { continue }
                    do { try udp.send(sealed, to: to) } catch {
                        metrics.sendFailed(transport: "udp")
                        log.debug("cannot send datagram", ["to": to, "error": error.description])
                    }
                case .stream:
                    streams.send(bytes, to: to)
                }
            case let .event(event):
                metrics.event(event.kind)
                logEvent(event)
            }
        }
        // Keep the buffer's capacity for the next input unless effects were added meanwhile.
        if effects.isEmpty {
            batch.removeAll(keepingCapacity: true)
            swap(&batch, &effects)
        }
    }

    private func logEvent(_ event: MemberEvent) {
        let fields: KeyValuePairs<String, Any> = ["name": event.name, "address": event.address, "incarnation": event.incarnation]
        switch event.kind {
        case .joined: log.info("member joined", fields)
        case .alive: log.info("member refuted suspicion", fields)
        case .suspect: log.warn("member suspected", fields)
        case .dead: log.warn("member declared dead", fields)
        case .left: log.info("member left", fields)
        case .updated: log.info("member updated", ["name": event.name, "address": event.address, "tags": event.tags.description])
        }
    }

    /// Logs and counts what went wrong on a peer stream.
    func report(_ problem: PeerStreams.Problem) {
        switch problem {
        case let .connectFailed(peer, reason):
            metrics.streamProblem("connect_failed")
            log.debug("cannot open peer stream", ["peer": peer, "reason": reason.description])
            peerUnreachable(peer)
        case let .closed(peer, reason, inbound):
            // Frames queued on a broken outbound stream are lost: calls to the peer end now.
            if !inbound { peerUnreachable(peer) }
            switch reason {
            case .truncatedFrame:
                metrics.dropped(.truncatedFrame)
                log.warn("peer stream ended mid-frame; frame dropped", ["peer": peer, "inbound": inbound, "reason": reason.description])
            case .oversizedFrame:
                metrics.dropped(.oversizedFrame)
                log.warn("peer stream sent an oversized frame; closed", ["peer": peer, "inbound": inbound, "reason": reason.description])
            default:
                metrics.streamProblem("closed_with_error")
                log.debug("peer stream failed", ["peer": peer, "inbound": inbound, "reason": reason.description])
            }
        case let .inboundRefused(peer):
            metrics.dropped(.streamLimit)
            log.warn("refused peer stream: too many open", ["peer": peer, "limit": streams.maxInbound])
        case let .sendFailed(peer, error):
            metrics.sendFailed(transport: "tcp")
            log.debug("cannot queue frame for peer", ["peer": peer, "error": error.description])
            // A refused frame is reported to the Raft groups (they probe the peer again) and
            // ends the calls waiting on it.
            peerUnreachable(peer)
        case let .sealFailed(peer):
            metrics.sendFailed(transport: "tcp")
            peerUnreachable(peer)
        }
    }
}
