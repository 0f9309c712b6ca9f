import ChorusLocks
import ChorusQueue
import ChorusShards

/// The request id a lock acquire, release or session close is proposed under in its shard's
/// ledger: `acquire-<session>-<id>`, `release-…` or `close-…`, so that one client request id
/// names one operation of one kind per session, on every node that routes it (a session open
/// keeps the bare id: it has no session yet).
///
/// Invariant: never longer than `CommandEnvelope.maxRequestIDBytes`, for every client id the
/// API accepts (1...128 bytes). The prefix and the session take up to 56 bytes, so a long
/// client id would push the plain form past the ledger's limit and the proposal would be
/// refused; such an id is replaced by its length and two 64-bit stable hashes of its bytes
/// (forward and reversed). Ids short enough keep the plain form, so they name the same
/// ledger entry as before. Two long ids of one session collide only if both hashes and the
/// length agree.
enum LockLedgerID {
    static func make(_ kind: String, session: SessionID, requestID: RequestID) -> [UInt8] {
        let plain = Array("\(kind)-\(session)-\(requestID.text)".utf8)
        if plain.count <= CommandEnvelope.maxRequestIDBytes { return plain }
        let id = Array(requestID.text.utf8)
        let forward = String(StableHash.hash(id), radix: 16)
        let reversed = String(StableHash.hash(id.reversed()), radix: 16)
        return Array("\(kind)-\(session)-#\(id.count)-\(forward)-\(reversed)".utf8)
    }
}
