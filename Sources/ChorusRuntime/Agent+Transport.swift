import ChorusBase
import ChorusMembership
import ChorusNode
import ChorusShards

// Packets in and out: datagrams from the UDP socket to the node, the node's datagrams sealed
// out, and what goes wrong on peer streams.
extension Agent {

    /// Reads waiting datagrams (bounded per turn so streams and the API are not starved),
    /// unseals them and hands them to the node.
    func readDatagrams() {
        var received = false
        var effects: [NodeEffect] = []
        for _ in 0..<256 {
            do {
                guard let (bytes, from) = try udp.receive() else { break }
                received = true
                guard let opened = transportSeal.incoming(bytes, from: from, transport: "udp") else { continue }
                shards.node.receive(datagram: opened, from: from, at: nodeTime, into: &effects)
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
        guard received else { return }
        perform(effects)
        followMembership()
    }

    /// Seals and sends one membership datagram (the node's `.datagram` effect).
    func sendDatagram(_ bytes: [UInt8], to address: Endpoint, kind: MessageKind) {
        metrics.sent(kind, bytes: bytes.count)
        guard let sealed = transportSeal.outgoing(bytes) else { return }
        do { try udp.send(sealed, to: address) } catch {
            metrics.sendFailed(transport: "udp")
            log.debug("cannot send datagram", ["to": address, "error": error.description])
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
