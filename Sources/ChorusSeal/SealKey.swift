/// One AES-256 key of a keyring.
///
/// Invariant: exactly 32 bytes. Its text form is 64 hexadecimal digits (what `chorus keys`
/// and key files hold); `id` is a short, non-secret label for logs and listings.
public struct SealKey: Sendable, Hashable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]
    /// The key's reusable libcrypto contexts (nil if libcrypto could not make them; sealing
    /// then sets a context up per message). Not part of the key's identity.
    let context: GCMContext?

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
        context = GCMContext(key: bytes)
    }

    public static func == (a: SealKey, b: SealKey) -> Bool { a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// A key from 64 hex digits (either case); nil for anything else.
    public init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count == 2 * Self.byteCount else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(Self.byteCount)
        var i = 0
        while i < digits.count {
            guard let hi = Self.nibble(digits[i]), let lo = Self.nibble(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        bytes = out
        context = GCMContext(key: out)
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// A non-secret label: an FNV-1a hash of the key, 8 hex digits. Not a key derivation; it
    /// only tells keys apart in listings.
    public var id: String {
        var h: UInt32 = 2_166_136_261
        for b in bytes { h = (h ^ UInt32(b)) &* 16_777_619 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    public var description: String { "key \(id)" }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
