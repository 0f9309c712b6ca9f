import Foundation

/// Writes the API's `[String: Any]` answers as JSON text without Foundation's serializer
/// (which bridged every answer to `NSDictionary` and cost a KV write about a seventh of the
/// answering node's CPU). Keys are sorted and `/` is not escaped, as the serializer was asked
/// to do.
///
/// Invariant: the output is valid JSON whenever `write` returns bytes; a value of any other
/// type than String, Bool, fixed-width integers, finite Double, NSNull, `[Any]` and
/// `[String: Any]` (or nesting deeper than 64) makes it return nil, and the caller falls
/// back to Foundation's serializer, which refuses what is not JSON.
enum JSONObjectWriter {
    static func write(_ object: [String: Any]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        guard append(object, to: &out, depth: 0) else { return nil }
        return out
    }

    private static func append(_ value: Any, to out: inout [UInt8], depth: Int) -> Bool {
        guard depth < 64 else { return false }
        switch value {
        case let s as String: appendString(s, to: &out)
        case let b as Bool: out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case let i as Int: out.append(contentsOf: String(i).utf8)
        case let i as Int64: out.append(contentsOf: String(i).utf8)
        case let i as UInt64: out.append(contentsOf: String(i).utf8)
        case let i as Int32: out.append(contentsOf: String(i).utf8)
        case let i as UInt32: out.append(contentsOf: String(i).utf8)
        case let i as UInt16: out.append(contentsOf: String(i).utf8)
        case let i as UInt8: out.append(contentsOf: String(i).utf8)
        case let d as Double:
            guard d.isFinite else { return false }
            if d == d.rounded(), abs(d) < 1e15 { out.append(contentsOf: String(Int64(d)).utf8) } else { out.append(contentsOf: "\(d)".utf8) }
        case is NSNull: out.append(contentsOf: "null".utf8)
        case let a as [Any]:
            out.append(UInt8(ascii: "["))
            for (n, element) in a.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                guard append(element, to: &out, depth: depth + 1) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case let o as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (n, key) in o.keys.sorted().enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                guard let v = o[key], append(v, to: &out, depth: depth + 1) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        default:
            return false
        }
        return true
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x00 ..< 0x20, 0x7F:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
