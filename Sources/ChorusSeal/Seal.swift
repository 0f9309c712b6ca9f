/// Seals and opens the messages nodes exchange (gossip datagrams, peer-stream frames) with
/// AES-256-GCM: the keyring's primary seals, any installed key may open.
///
/// sealed message = magic "SL" (2) | version u8 = 1 | nonce (12) | ciphertext | tag (16)
/// plaintext      = sent-at u64 (milliseconds since 1970, big-endian) | message
/// associated data = magic | version | cluster name (UTF-8)
///
/// Invariants: a message is sealed under a fresh nonce (given by the caller, so a simulator
/// stays deterministic; `seal(_:sentAt:)` draws it from libcrypto); a message opens only if
/// its tag verifies under some installed key and the same cluster name; a message whose
/// sent-at lies more than `replayWindow` away from now is refused, so a recorded message
/// cannot be replayed after that. Within the window a replay is harmless to membership
/// (an old update loses to what the node holds by incarnation precedence, and a member it
/// names is still held, alive or as a tombstone, since tombstones last far longer than the
/// window) and to peer RPC (calls carry ids and budgets; Raft messages carry terms and indices).
public struct Seal: Sendable {
    public static let magic: (UInt8, UInt8) = (0x53, 0x4C)
    public static let version: UInt8 = 1
    static let headerBytes = 3 + AESGCM.nonceBytes
    /// Bytes a sealed message adds to its plaintext: header, sent-at and tag.
    public static let overhead = headerBytes + 8 + AESGCM.tagBytes

    public var keyring: Keyring
    /// The mode asked for; an empty keyring acts as `.open` whatever it says.
    public var requestedMode: SealMode
    public var mode: SealMode { keyring.isEmpty ? .open : requestedMode }
    /// Longest a message may be in flight, either way of clock differences (milliseconds).
    public var replayWindowMillis: UInt64 = 10 * 60 * 1000
    private let associatedData: [UInt8]

    public init(keyring: Keyring, mode: SealMode, cluster: String) {
        self.keyring = keyring
        requestedMode = mode
        associatedData = [Self.magic.0, Self.magic.1, Self.version] + Array(cluster.utf8)
    }

    /// Whether outgoing messages are sealed.
    public var seals: Bool { mode.seals && !keyring.isEmpty }

    public static func isSealed(_ bytes: some Collection<UInt8>) -> Bool {
        var i = bytes.makeIterator()
        return i.next() == magic.0 && i.next() == magic.1
    }

    /// `message` sealed under the primary with `nonce`, or as is when this node does not seal.
    public func seal(_ message: [UInt8], sentAt millis: UInt64, nonce: [UInt8]) -> [UInt8]? {
        guard seals, let key = keyring.primary else { return message }
        var plain: [UInt8] = []
        plain.reserveCapacity(8 + message.count)
        for shift in stride(from: 56, through: 0, by: -8) { plain.append(UInt8(truncatingIfNeeded: millis >> UInt64(shift))) }
        plain.append(contentsOf: message)
        guard let body = AESGCM.seal(plain, key: key, nonce: nonce, aad: associatedData) else { return nil }
        return [Self.magic.0, Self.magic.1, Self.version] + nonce + body
    }

    /// `message` sealed under a fresh random nonce from libcrypto.
    public func seal(_ message: [UInt8], sentAt millis: UInt64) -> [UInt8]? {
        guard seals else { return message }
        guard let nonce = AESGCM.randomBytes(AESGCM.nonceBytes) else { return nil }
        return seal(message, sentAt: millis, nonce: nonce)
    }

    /// The message inside `bytes`: opened when sealed, as is when plaintext the mode takes.
    public func open(_ bytes: [UInt8], now millis: UInt64) -> Result<[UInt8], SealRefusal> {
        guard Self.isSealed(bytes) else {
            return mode.takesPlaintext ? .success(bytes) : .failure(.plaintext)
        }
        guard bytes.count >= Self.overhead else { return .failure(.malformed) }
        guard bytes[2] == Self.version else { return .failure(.unknownVersion(bytes[2])) }
        guard !keyring.isEmpty else { return .failure(.noKeys) }
        let nonce = bytes[3..<Self.headerBytes]
        let body = bytes[Self.headerBytes...]
        for key in keyring.keys {
            guard let plain = AESGCM.open(body, key: key, nonce: nonce, aad: associatedData), plain.count >= 8 else { continue }
            var sentAt: UInt64 = 0
            for b in plain.prefix(8) { sentAt = sentAt << 8 | UInt64(b) }
            let age = millis >= sentAt ? millis - sentAt : sentAt - millis
            guard age <= replayWindowMillis else { return .failure(.outsideReplayWindow(ageMillis: age)) }
            return .success(Array(plain.dropFirst(8)))
        }
        return .failure(.noKeyOpens)
    }

    /// A new random key from libcrypto.
    public static func randomKey() -> SealKey? {
        AESGCM.randomBytes(SealKey.byteCount).flatMap { SealKey(bytes: $0) }
    }
}

/// Why a received message was refused (logged and counted; never merged).
public enum SealRefusal: Error, Equatable, CustomStringConvertible {
    /// Plaintext while encryption is required.
    case plaintext
    case malformed
    case unknownVersion(UInt8)
    /// A sealed message reached a node with no keys.
    case noKeys
    /// No installed key opens it for this cluster (a wrong key, a tampered byte, another cluster).
    case noKeyOpens
    /// Sealed too long ago or too far ahead: a replay, or clocks far apart.
    case outsideReplayWindow(ageMillis: UInt64)

    /// A stable label (metrics, logs).
    public var reason: String {
        switch self {
        case .plaintext: return "plaintext"
        case .malformed: return "malformed"
        case .unknownVersion: return "unknown_version"
        case .noKeys: return "no_keys"
        case .noKeyOpens: return "no_key_opens"
        case .outsideReplayWindow: return "replay_window"
        }
    }

    public var description: String {
        switch self {
        case .plaintext: return "plaintext message refused: encryption is required"
        case .malformed: return "sealed message too short"
        case let .unknownVersion(v): return "sealed message of unknown version \(v)"
        case .noKeys: return "sealed message but this node has no keys"
        case .noKeyOpens: return "no installed key opens the message (wrong key, tampered, or another cluster)"
        case let .outsideReplayWindow(age): return "message sealed \(age) ms away from now, outside the replay window"
        }
    }
}
