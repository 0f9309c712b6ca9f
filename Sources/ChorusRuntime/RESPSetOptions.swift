import ChorusShards

/// The options of a RESP `SET key value [EX seconds | PX milliseconds]`, read as Redis reads
/// them: one expiry at most, a positive integer, the option names in any case. NX, XX,
/// KEEPTTL, GET and EXAT/PXAT are refused with a clear error rather than half-implemented.
///
/// Invariant: `parse` is total; it answers a TTL in milliseconds within
/// 1...`maxTTLMillis`, no TTL, or the error line Redis would answer.
enum RESPSetOptions {
    static func parse(_ options: [[UInt8]], maxTTLMillis: UInt64) -> Result<UInt64?, RESPOptionError> {
        var ttl: UInt64? = nil
        var i = 0
        while i < options.count {
            let name = String(decoding: options[i], as: UTF8.self).uppercased()
            switch name {
            case "EX", "PX":
                guard ttl == nil, i + 1 < options.count else { return .failure(RESPOptionError("ERR syntax error")) }
                guard let n = DecimalInteger.parse(options[i + 1]) else {
                    return .failure(RESPOptionError("ERR value is not an integer or out of range"))
                }
                let (millis, overflow) = n.multipliedReportingOverflow(by: name == "EX" ? 1_000 : 1)
                guard n > 0, !overflow, UInt64(millis) <= maxTTLMillis else {
                    return .failure(RESPOptionError("ERR invalid expire time in 'set' command"))
                }
                ttl = UInt64(millis)
                i += 2
            case "NX", "XX", "KEEPTTL", "GET", "EXAT", "PXAT":
                return .failure(RESPOptionError("ERR SET \(name) is not supported by this cache (only EX and PX)"))
            default:
                return .failure(RESPOptionError("ERR syntax error"))
            }
        }
        return .success(ttl)
    }
}

/// The error line a RESP command is answered with.
struct RESPOptionError: Error, Equatable {
    let line: String
    init(_ line: String) { self.line = line }
}
