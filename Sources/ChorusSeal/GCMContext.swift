import CLibCrypto
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
    private let sealingContext: OpaquePointer
    private let openingContext: OpaquePointer
    private let sealing = Mutex(())
    private let opening = Mutex(())

    init?(key: [UInt8]) {
        guard key.count == 32, let s = EVP_CIPHER_CTX_new() else { return nil }
        guard let o = EVP_CIPHER_CTX_new() else { EVP_CIPHER_CTX_free(s); return nil }
        let keyed = EVP_EncryptInit_ex(s, EVP_aes_256_gcm(), nil, nil, nil) == 1
            && EVP_CIPHER_CTX_ctrl(s, EVP_CTRL_GCM_SET_IVLEN, Int32(AESGCM.nonceBytes), nil) == 1
            && EVP_EncryptInit_ex(s, nil, nil, key, nil) == 1
            && EVP_DecryptInit_ex(o, EVP_aes_256_gcm(), nil, nil, nil) == 1
            && EVP_CIPHER_CTX_ctrl(o, EVP_CTRL_GCM_SET_IVLEN, Int32(AESGCM.nonceBytes), nil) == 1
            && EVP_DecryptInit_ex(o, nil, nil, key, nil) == 1
        guard keyed else { EVP_CIPHER_CTX_free(s); EVP_CIPHER_CTX_free(o); return nil }
        sealingContext = s
        openingContext = o
    }

    deinit {
        EVP_CIPHER_CTX_free(sealingContext)
        EVP_CIPHER_CTX_free(openingContext)
    }

    /// Runs `body` with the keyed sealing context, after setting `nonce` on it.
    func withSealing<R>(nonce: UnsafePointer<UInt8>, _ body: (OpaquePointer) -> R?) -> R? {
        sealing.withLock { _ -> R? in
            guard EVP_EncryptInit_ex(sealingContext, nil, nil, nil, nonce) == 1 else { return nil }
            return body(sealingContext)
        }
    }

    /// Runs `body` with the keyed opening context, after setting `nonce` on it.
    func withOpening<R>(nonce: UnsafePointer<UInt8>, _ body: (OpaquePointer) -> R?) -> R? {
        opening.withLock { _ -> R? in
            guard EVP_DecryptInit_ex(openingContext, nil, nil, nil, nonce) == 1 else { return nil }
            return body(openingContext)
        }
    }
}
