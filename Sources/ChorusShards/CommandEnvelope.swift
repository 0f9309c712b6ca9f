import ChorusWire

/// A command as it sits in a shard's log: the client's request id (for exactly-once
/// application) and the state machine's command bytes.
///
/// Invariant: `requestID` is at most `maxRequestIDBytes` bytes; empty means "no
/// deduplication" (the command is applied every time it is committed).
public struct CommandEnvelope: Hashable, Sendable {
    public static let maxRequestIDBytes = 128
    public var requestID: [UInt8]
    public var body: [UInt8]

    public init(requestID: [UInt8], body: [UInt8]) {
        self.requestID = requestID; self.body = body
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 4 + requestID.count + body.count)
        w.u8(1) // envelope version
        w.blob(requestID)
        w.raw(body)
        return w.bytes
    }

    /// Reads what `encoded()` wrote; anything else is an error, never a trap.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        let version = try r.u8()
        guard version == 1 else { throw .invalid(field: "envelope version", reason: "\(version) unsupported") }
        requestID = try r.blob("request id", limit: CommandEnvelope.maxRequestIDBytes)
        body = try r.raw(r.remaining)
    }
}
