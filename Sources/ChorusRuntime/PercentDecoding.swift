/// Percent-decoding for request targets (RFC 3986) and query strings
/// (application/x-www-form-urlencoded). Invariant: returns nil, never traps, for a `%` not
/// followed by two hex digits or for bytes that do not form UTF-8.
enum PercentDecoding {
    /// Decodes `%XX` escapes; with `plusAsSpace`, also `+` as a space (query strings only).
    static func decode(_ text: Substring, plusAsSpace: Bool = false) -> String? {
        let utf8 = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < utf8.count, let hi = hexValue(utf8[i + 1]), let lo = hexValue(utf8[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(plusAsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Splits "a=1&b=x%20y&flag" into ordered (name, value) pairs; nil if any part is malformed.
    static func queryItems(_ query: Substring) -> [HTTPRequest.QueryItem]? {
        var items: [HTTPRequest.QueryItem] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(pieces[0], plusAsSpace: true) else { return nil }
            let value: String
            if pieces.count > 1 {
                guard let v = decode(pieces[1], plusAsSpace: true) else { return nil }
                value = v
            } else {
                value = ""
            }
            items.append(HTTPRequest.QueryItem(name: name, value: value))
        }
        return items
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }
}
