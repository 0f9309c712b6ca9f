/// Reads Redis commands from a client's byte stream: RESP2 multibulk (`*N\r\n$len\r\narg\r\n…`,
/// what every client library and `redis-benchmark` send) and inline commands (`PING\r\n`, what
/// a person types into telnet). Total: any input gives a command, "need more bytes", or a
/// protocol error; nothing traps, and no count, length or line an outsider sends can make it
/// allocate past its limits.
///
/// Invariant: `parse` looks only at complete commands at the front of `bytes` and says how
/// many bytes the command used, so the connection consumes exactly that.
public struct RESPRequestParser: Sendable {
    public struct Limits: Sendable {
        /// Arguments in one command (Redis allows 1,048,576; an MSET of 512 pairs fits here).
        public var maxArguments = 4_097
        /// Bytes in one argument: the cache's largest value and some slack (each connection
        /// may buffer about this much input, so it also bounds memory per client).
        public var maxArgumentBytes = (1 << 20) + 4_096
        /// Bytes of an inline command or of a `*`/`$` header line.
        public var maxLineBytes = 64 << 10
        public init() {}
    }

    public enum Outcome: Equatable, Sendable {
        /// A command (its name is `arguments[0]`) and the bytes it used.
        case command(arguments: [[UInt8]], length: Int)
        /// Blank input (an empty inline line) to skip.
        case skip(length: Int)
        case needMore
        /// The stream is not RESP: answer the error, then close the connection.
        case invalid(String)
    }

    public let limits: Limits

    public init(limits: Limits = Limits()) { self.limits = limits }

    public func parse(_ bytes: ArraySlice<UInt8>) -> Outcome {
        guard let first = bytes.first else { return .needMore }
        return first == UInt8(ascii: "*") ? multibulk(bytes) : inline(bytes)
    }

    private func multibulk(_ bytes: ArraySlice<UInt8>) -> Outcome {
        var i = bytes.startIndex
        let count: Int
        switch header(bytes, at: &i, kind: "*") {
        case let .value(n): count = n
        case .needMore: return .needMore
        case let .invalid(why): return .invalid(why)
        }
        guard count >= 0 else { return .skip(length: i - bytes.startIndex) } // `*-1`: nothing
        guard count <= limits.maxArguments else { return .invalid("Protocol error: invalid multibulk length") }
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(min(count, 64))
        for _ in 0..<count {
            guard i < bytes.endIndex else { return .needMore }
            guard bytes[i] == UInt8(ascii: "$") else {
                return .invalid("Protocol error: expected '$', got '\(Character(Unicode.Scalar(bytes[i])))'")
            }
            let length: Int
            switch header(bytes, at: &i, kind: "$") {
            case let .value(n): length = n
            case .needMore: return .needMore
            case let .invalid(why): return .invalid(why)
            }
            guard length >= 0, length <= limits.maxArgumentBytes else { return .invalid("Protocol error: invalid bulk length") }
            // The argument and its CRLF; compared without forming `i + length + 2` past the end.
            guard bytes.endIndex - i >= length + 2 else { return .needMore }
            let end = i + length
            guard bytes[end] == 13, bytes[end + 1] == 10 else { return .invalid("Protocol error: bulk string not ended by CRLF") }
            arguments.append(Array(bytes[i..<end]))
            i = end + 2
        }
        guard !arguments.isEmpty else { return .skip(length: i - bytes.startIndex) }
        return .command(arguments: arguments, length: i - bytes.startIndex)
    }

    private enum Header { case value(Int), needMore, invalid(String) }

    /// A `*N` or `$N` line at `i` (which points at the kind byte); moves `i` past its CRLF.
    private func header(_ bytes: ArraySlice<UInt8>, at i: inout Int, kind: Character) -> Header {
        var j = i + 1
        var value = 0, negative = false, digits = 0
        while j < bytes.endIndex, bytes[j] != 13 {
            let b = bytes[j]
            if b == UInt8(ascii: "-"), digits == 0, !negative {
                negative = true
            } else if b >= 48, b <= 57, digits < 10 {
                value = value * 10 + Int(b - 48)
                digits += 1
            } else {
                return .invalid(kind == "*" ? "Protocol error: invalid multibulk length" : "Protocol error: invalid bulk length")
            }
            j += 1
            if j - i > limits.maxLineBytes { return .invalid("Protocol error: too big header") }
        }
        guard j + 1 < bytes.endIndex else { return .needMore }
        guard bytes[j + 1] == 10, digits > 0 else {
            return .invalid(kind == "*" ? "Protocol error: invalid multibulk length" : "Protocol error: invalid bulk length")
        }
        i = j + 2
        return .value(negative ? -value : value)
    }

    /// An inline command: one line, arguments separated by spaces or tabs (no quoting).
    private func inline(_ bytes: ArraySlice<UInt8>) -> Outcome {
        guard let newline = bytes.prefix(limits.maxLineBytes + 2).firstIndex(of: 10) else {
            return bytes.count > limits.maxLineBytes ? .invalid("Protocol error: too big inline request") : .needMore
        }
        var lineEnd = newline
        if lineEnd > bytes.startIndex, bytes[lineEnd - 1] == 13 { lineEnd -= 1 }
        let arguments = bytes[bytes.startIndex..<lineEnd]
            .split(whereSeparator: { $0 == 32 || $0 == 9 })
            .map { Array($0) }
        let length = newline + 1 - bytes.startIndex
        guard !arguments.isEmpty else { return .skip(length: length) }
        guard arguments.count <= limits.maxArguments else { return .invalid("Protocol error: too many arguments") }
        return .command(arguments: arguments, length: length)
    }
}
