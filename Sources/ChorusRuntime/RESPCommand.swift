/// One command of the RESP2 protocol (Redis serialization protocol) as a client sends it: an
/// array of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`), or an inline line of words
/// separated by spaces (`PING\r\n`, what `nc` or `telnet` send).
///
/// Invariant: `parse` is total — any bytes give a command, a need for more bytes, or a
/// failure, never a trap — and never reads past `maxArguments` arguments or
/// `maxArgumentBytes` bytes per argument, so a client cannot make the reader allocate more.
enum RESPCommand {
    static let maxArguments = 64
    static let maxArgumentBytes = (1 << 20) + 4096
    static let maxInlineBytes = 64 * 1024

    enum Parse: Equatable {
        case needMore
        /// The command's arguments and how many bytes it took.
        case command([[UInt8]], consumed: Int)
        case failure(String)
    }

    static func parse(_ bytes: [UInt8]) -> Parse {
        guard let first = bytes.first else { return .needMore }
        if first != UInt8(ascii: "*") { return inline(bytes) }
        var at = 1
        guard let count = number(bytes, &at) else { return lineEnd(bytes, from: 1) == nil ? .needMore : .failure("bad array length") }
        guard count >= 1, count <= maxArguments else { return .failure("a command has 1...\(maxArguments) arguments") }
        var arguments: [[UInt8]] = []
        for _ in 0..<count {
            guard at < bytes.count else { return .needMore }
            guard bytes[at] == UInt8(ascii: "$") else { return .failure("expected a bulk string") }
            at += 1
            guard let length = number(bytes, &at) else { return lineEnd(bytes, from: at) == nil ? .needMore : .failure("bad bulk length") }
            guard length >= 0, length <= maxArgumentBytes else { return .failure("an argument has at most \(maxArgumentBytes) bytes") }
            guard bytes.count - at >= length + 2 else { return .needMore }
            guard bytes[at + length] == UInt8(ascii: "\r"), bytes[at + length + 1] == UInt8(ascii: "\n") else {
                return .failure("a bulk string must end with CRLF")
            }
            arguments.append(Array(bytes[at..<(at + length)]))
            at += length + 2
        }
        return .command(arguments, consumed: at)
    }

    /// A line of space-separated words.
    static func inline(_ bytes: [UInt8]) -> Parse {
        guard let end = lineEnd(bytes, from: 0) else {
            return bytes.count > maxInlineBytes ? .failure("inline command too long") : .needMore
        }
        let line = bytes[..<end.start]
        let words = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true).map { Array($0) }
        guard words.count <= maxArguments else { return .failure("a command has 1...\(maxArguments) arguments") }
        return .command(words, consumed: end.next)
    }

    /// The first line end at or after `from`: where the line stops and where the next starts
    /// (CRLF, or a lone LF from a terminal).
    static func lineEnd(_ bytes: [UInt8], from: Int) -> (start: Int, next: Int)? {
        var i = from
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\n") { return (i > from && bytes[i - 1] == UInt8(ascii: "\r") ? i - 1 : i, i + 1) }
            i += 1
        }
        return nil
    }

    /// A decimal number ending in CRLF at `at` (advanced past it); nil when absent or bad.
    static func number(_ bytes: [UInt8], _ at: inout Int) -> Int? {
        var i = at, value = 0, digits = 0, negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            guard digits < 9 else { return nil }
            value = value * 10 + Int(bytes[i] - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        guard digits > 0, bytes.count - i >= 2, bytes[i] == UInt8(ascii: "\r"), bytes[i + 1] == UInt8(ascii: "\n") else { return nil }
        at = i + 2
        return negative ? -value : value
    }
}

/// A RESP2 answer.
enum RESPReply: Equatable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)

    var encoded: [UInt8] {
        switch self {
        case let .simple(s): return Array("+\(s)\r\n".utf8)
        case let .error(s): return [UInt8(ascii: "-")] + s.utf8.filter { $0 != 13 && $0 != 10 } + [13, 10]
        case let .integer(n): return Array(":\(n)\r\n".utf8)
        case .bulk(nil): return Array("$-1\r\n".utf8)
        case let .bulk(bytes?): return Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        }
    }
}
