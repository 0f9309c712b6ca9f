/// A RESP2 reply, as Redis clients read it. Invariant: `encoded()` is exactly the RESP2 wire
/// form; simple strings and errors never carry CR or LF (they are replaced by spaces), so a
/// reply can never be read as two.
public enum RESPValue: Hashable, Sendable {
    case simple(String)
    case error(String)
    case integer(Int64)
    /// nil: the null bulk string (`$-1`).
    case bulk([UInt8]?)
    /// nil: the null array (`*-1`).
    case array([RESPValue]?)

    public static let ok = RESPValue.simple("OK")

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    public func encode(into out: inout [UInt8]) {
        switch self {
        case let .simple(s): line(UInt8(ascii: "+"), RESPValue.oneLine(s), &out)
        case let .error(s): line(UInt8(ascii: "-"), RESPValue.oneLine(s), &out)
        case let .integer(n): line(UInt8(ascii: ":"), String(n), &out)
        case .bulk(nil): out += Array("$-1\r\n".utf8)
        case let .bulk(bytes?):
            line(UInt8(ascii: "$"), String(bytes.count), &out)
            out += bytes
            out += [13, 10]
        case .array(nil): out += Array("*-1\r\n".utf8)
        case let .array(items?):
            line(UInt8(ascii: "*"), String(items.count), &out)
            for item in items { item.encode(into: &out) }
        }
    }

    private func line(_ kind: UInt8, _ text: String, _ out: inout [UInt8]) {
        out.append(kind)
        out += Array(text.utf8)
        out += [13, 10]
    }

    /// Bytes, not Characters: "\r\n" is one Character in Swift and would slip through.
    static func oneLine(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 == 13 || $0 == 10 ? 32 : $0 }, as: UTF8.self)
    }
}
