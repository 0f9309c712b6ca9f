import ChorusBase
import ChorusWire

/// Limits and timeouts for framed TCP connections. Invariant (checked by `validate()`):
/// every limit is positive and every timeout, when set, is positive.
public struct TCPSettings: Sendable, Equatable {
    /// Largest frame payload accepted or sent. Default: `Frame.defaultMaxBytes` (16 MiB),
    /// enough for a full-state sync of a large cluster.
    public var maxFrameBytes: Int = Frame.defaultMaxBytes
    /// Bound on output queued for a slow peer; `send` refuses beyond it. Default 32 MiB:
    /// two maximum frames.
    public var maxOutgoingBytes: Int = 32 << 20
    /// Close a connection when no byte moved either way for this long; nil keeps idle
    /// connections forever. Default 60 s, well above any protocol's heartbeat.
    public var idleTimeout: Interval? = .milliseconds(60_000)
    /// Give up an outgoing connect after this long. Default 5 s (several SYN retries on a
    /// LAN, short enough for an operator waiting on `join`).
    public var connectTimeout: Interval = .milliseconds(5_000)

    public init() {}

    /// Refuses nonsensical values, naming the setting and the rule.
    public func validate() throws(SettingsError) {
        if maxFrameBytes <= 0 { throw SettingsError(setting: "maxFrameBytes", rule: "must be positive, got \(maxFrameBytes)") }
        if maxOutgoingBytes < maxFrameBytes + 4 {
            throw SettingsError(setting: "maxOutgoingBytes", rule: "must hold one full frame (\(maxFrameBytes + 4) bytes), got \(maxOutgoingBytes)")
        }
        if let idle = idleTimeout, idle <= .zero { throw SettingsError(setting: "idleTimeout", rule: "must be positive when set, got \(idle)") }
        if connectTimeout <= .zero { throw SettingsError(setting: "connectTimeout", rule: "must be positive, got \(connectTimeout)") }
    }
}

/// A setting refused at construction time. Invariant: names the setting and the rule broken.
public struct SettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    public let setting: String
    public let rule: String
    public var description: String { "invalid setting \(setting): \(rule)" }
}
