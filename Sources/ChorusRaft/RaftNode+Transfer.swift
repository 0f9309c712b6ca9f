/// Leadership transfer (Raft dissertation §3.10).
///
/// 1. The leader stops accepting proposals and brings the target's log up to date.
/// 2. Once the target's match index equals the leader's last index, the leader sends
///    `timeoutNow`; the target campaigns at once, skipping pre-vote, and voters skip the
///    check-quorum lease for it (`VoteRequest.transfer`).
/// 3. A transfer not done within an election timeout is abandoned and proposals resume.
extension RaftNode {
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard target != id, configuration.isVoter(target), let p = progress[target] else {
            throw .invalidTransferTarget(target)
        }
        if transferee == target { return }
        transferee = target
        electionElapsed = 0
        if p.match == log.lastIndex {
            send(to: target, .timeoutNow)
        } else {
            sendAppend(to: target)
        }
    }

    mutating func handleTimeoutNow(_ m: Message) {
        guard isPromotable else { return }
        startElection(transfer: true)
    }
}
