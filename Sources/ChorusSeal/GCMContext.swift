import Synchronization

/// One key's AES-256-GCM contexts for sealing and for opening, keyed once and reused for
/// every message: each message only sets its nonce (OpenSSL keeps the expanded key and
/// the GHASH table across `EVP_*Init_ex` calls that pass no key). Setting a context up and
/// freeing it per message was most of the cost of sealing a small frame.
///
/// Invariant: a context is used by one caller at a time (each sits behind its own lock),
/// always keyed with the key it was made for; if libcrypto cannot make or key one, the
/// contexts are absent and `AESGCM` makes a fresh context per message instead.
final class GCMContext: @unchecked Sendable {
    // Unchecked: each pointer is only ever used inside its own lock's `withLock`.
    private let c: LibCrypto
    private let sealingContext: OpaquePointer
    private let openingContext: OpaquePointer
    private let sealing = Mutex(())
    private let opening = Mutex(())

    init?(key: [UInt8]) {
        guard key.count == 32, let c = LibCrypto.shared, let s = c.newContext() else { return nil }
        guard let o = c.newContext() else { c.freeContext(s); return nil }
        let keyed = c.encryptInit(s, c.aes256GCM(), nil, nil, nil) == 1
            && c.control(s, LibCrypto.setIVLength, Int32(AESGCM.nonceBytes), nil) == 1
            && c.encryptInit(s, nil, nil, key, nil) == 1
            && c.decryptInit(o, c.aes256GCM(), nil, nil, nil) == 1
            && c.control(o, LibCrypto.setIVLength, Int32(AESGCM.nonceBytes), nil) == 1
            && c.decryptInit(o, nil, nil, key, nil) == 1
        guard keyed else { c.freeContext(s); c.freeContext(o); return nil }
        self.c = c
        sealingContext = s
        openingContext = o
    }

    deinit {
        c.freeContext(sealingContext)
        c.freeContext(openingContext)
    }

    /// Runs `body` with the keyed sealing context, after setting `nonce` on it.
    func withSealing<R>(nonce: UnsafePointer<UInt8>, _ body: (OpaquePointer) -> R?) -> R? {
        sealing.withLock { _ -> R? in
            guard c.encryptInit(sealingContext, nil, nil, nil, nonce) == 1 else { return nil }
            return body(sealingContext)
        }
    }

    /// Runs `body` with the keyed opening context, after setting `nonce` on it.
    func withOpening<R>(nonce: UnsafePointer<UInt8>, _ body: (OpaquePointer) -> R?) -> R? {
        opening.withLock { _ -> R? in
            guard c.decryptInit(openingContext, nil, nil, nil, nonce) == 1 else { return nil }
            return body(openingContext)
        }
    }
}
