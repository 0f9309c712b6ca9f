
/// AES-256-GCM through OpenSSL's EVP interface. Nothing cryptographic is done here: this
/// only passes bytes to libcrypto and reads its verdicts.
///
/// Invariants: a 12-byte nonce and a 16-byte tag; `open` returns plaintext only when
/// libcrypto verified the tag over the ciphertext and the associated data.
enum AESGCM {
    static let nonceBytes = 12
    static let tagBytes = 16

    /// `plaintext` encrypted, followed by its tag; nil only if libcrypto fails.
    static func seal(_ plaintext: [UInt8], key: SealKey, nonce: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard nonce.count == nonceBytes, plaintext.count < Int(Int32.max) - tagBytes else { return nil }
        if let context = key.context {
            return nonce.withUnsafeBufferPointer { n in
                n.baseAddress.flatMap { base in context.withSealing(nonce: base) { encrypt(plaintext, aad: aad, with: $0) } }
            }
        }
        guard let c = LibCrypto.shared, let ctx = c.newContext() else { return nil }
        defer { c.freeContext(ctx) }
        guard c.encryptInit(ctx, c.aes256GCM(), nil, nil, nil) == 1,
              c.control(ctx, LibCrypto.setIVLength, Int32(nonceBytes), nil) == 1,
              c.encryptInit(ctx, nil, nil, key.bytes, nonce) == 1 else { return nil }
        return encrypt(plaintext, aad: aad, with: ctx)
    }

    /// Encrypts with a context keyed and given its nonce: ciphertext then tag.
    private static func encrypt(_ plaintext: [UInt8], aad: [UInt8], with ctx: OpaquePointer) -> [UInt8]? {
        guard let c = LibCrypto.shared else { return nil }
        var length: Int32 = 0
        if !aad.isEmpty {
            guard c.encryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1 else { return nil }
        }
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var written = 0
        if !plaintext.isEmpty {
            let ok = out.withUnsafeMutableBufferPointer { o in
                c.encryptUpdate(ctx, o.baseAddress, &length, plaintext, Int32(plaintext.count)) == 1
            }
            guard ok else { return nil }
            written = Int(length)
        }
        let finished = out.withUnsafeMutableBufferPointer { o in
            o.baseAddress.map { c.encryptFinal(ctx, $0 + written, &length) == 1 } ?? false
        }
        guard finished else { return nil }
        written += Int(length)
        guard written == plaintext.count else { return nil }
        let tagged = out.withUnsafeMutableBufferPointer { o in
            o.baseAddress.map { c.control(ctx, LibCrypto.getTag, Int32(tagBytes), $0 + written) == 1 } ?? false
        }
        return tagged ? out : nil
    }

    /// The plaintext of `sealed` (ciphertext then tag), or nil when the tag does not verify.
    static func open(_ sealed: ArraySlice<UInt8>, key: SealKey, nonce: ArraySlice<UInt8>, aad: [UInt8]) -> [UInt8]? {
        guard nonce.count == nonceBytes, sealed.count >= tagBytes, sealed.count < Int(Int32.max) else { return nil }
        let nonceBytes = Array(nonce)
        if let context = key.context {
            return nonceBytes.withUnsafeBufferPointer { n in
                n.baseAddress.flatMap { base in context.withOpening(nonce: base) { decrypt(sealed, aad: aad, with: $0) } }
            }
        }
        guard let c = LibCrypto.shared, let ctx = c.newContext() else { return nil }
        defer { c.freeContext(ctx) }
        guard c.decryptInit(ctx, c.aes256GCM(), nil, nil, nil) == 1,
              c.control(ctx, LibCrypto.setIVLength, Int32(nonceBytes.count), nil) == 1,
              c.decryptInit(ctx, nil, nil, key.bytes, nonceBytes) == 1 else { return nil }
        return decrypt(sealed, aad: aad, with: ctx)
    }

    /// Decrypts and verifies with a context keyed and given its nonce.
    private static func decrypt(_ sealed: ArraySlice<UInt8>, aad: [UInt8], with ctx: OpaquePointer) -> [UInt8]? {
        guard let c = LibCrypto.shared else { return nil }
        let cipherCount = sealed.count - tagBytes
        var tag = Array(sealed.suffix(tagBytes))
        var length: Int32 = 0
        if !aad.isEmpty {
            guard c.decryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1 else { return nil }
        }
        var out = [UInt8](repeating: 0, count: cipherCount + 16)
        var written = 0
        if cipherCount > 0 {
            let ok = sealed.withUnsafeBufferPointer { cipher in
                out.withUnsafeMutableBufferPointer { o in
                    c.decryptUpdate(ctx, o.baseAddress, &length, cipher.baseAddress, Int32(cipherCount)) == 1
                }
            }
            guard ok else { return nil }
            written = Int(length)
        }
        guard c.control(ctx, LibCrypto.setTag, Int32(tagBytes), &tag) == 1 else { return nil }
        let verified = out.withUnsafeMutableBufferPointer { o in
            o.baseAddress.map { c.decryptFinal(ctx, $0 + written, &length) == 1 } ?? false
        }
        guard verified else { return nil }
        written += Int(length)
        guard written == cipherCount else { return nil }
        out.removeLast(out.count - written)
        return out
    }

    /// `count` bytes from libcrypto's random generator; nil if it cannot provide them.
    static func randomBytes(_ count: Int) -> [UInt8]? {
        guard let c = LibCrypto.shared else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { c.randomBytes($0.baseAddress, Int32(count)) == 1 }
        return ok ? out : nil
    }
}
