import Foundation
import ChorusBase
import ChorusSeal

/// The seal applied to every gossip datagram and every peer-stream frame this agent sends or
/// receives, and the keyring it holds (rotated online through `/v1/keys`).
///
/// Invariants: with no keyring every message passes as is; a refused message is counted by
/// reason, logged (at most once per reason and 10 s at warn, the rest at debug) and never
/// reaches the node; keyring changes are written back to the keyring file when there is one.
final class TransportSeal {
    private(set) var seal: Seal
    let keyringPath: String?
    private let log: Log
    private(set) var refusals: [String: Int] = [:]
    private var lastWarned: [String: Double] = [:]

    init(keyring: Keyring, mode: SealMode, cluster: String, keyringPath: String?, log: Log) {
        seal = Seal(keyring: keyring, mode: mode, cluster: cluster)
        self.keyringPath = keyringPath
        self.log = log
    }

    static func wallMillis() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    /// The bytes to put on the wire for `message`; nil (logged) if sealing failed.
    func outgoing(_ message: [UInt8]) -> [UInt8]? {
        guard seal.seals else { return message }
        guard let sealed = seal.seal(message, sentAt: Self.wallMillis()) else {
            log.error("cannot seal a message: libcrypto failed")
            return nil
        }
        return sealed
    }

    /// The message inside `bytes` from `source`, or nil when refused.
    func incoming(_ bytes: [UInt8], from source: Endpoint, transport: String) -> [UInt8]? {
        switch seal.open(bytes, now: Self.wallMillis()) {
        case let .success(message):
            return message
        case let .failure(refusal):
            refusals[refusal.reason, default: 0] += 1
            let now = Date().timeIntervalSince1970
            if now - (lastWarned[refusal.reason] ?? -1e9) >= 10 {
                lastWarned[refusal.reason] = now
                log.warn("refused a message from a peer", ["from": source, "transport": transport, "reason": refusal.description])
            } else {
                log.debug("refused a message from a peer", ["from": source, "transport": transport, "reason": refusal.reason])
            }
            return nil
        }
    }

    // MARK: online rotation

    func install(_ key: SealKey) throws(KeyringError) { try seal.keyring.install(key); saved() }
    func use(_ key: SealKey) throws(KeyringError) { try seal.keyring.use(key); saved() }
    func remove(_ key: SealKey) throws(KeyringError) { try seal.keyring.remove(key); saved() }
    func setMode(_ mode: SealMode) { seal.requestedMode = mode }

    private func saved() {
        if let path = keyringPath, !KeyringFile.save(seal.keyring, path: path) {
            log.warn("cannot write the keyring file; the change lasts until restart", ["path": path])
        }
    }
}
