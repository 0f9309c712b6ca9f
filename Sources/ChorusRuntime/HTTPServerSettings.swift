import ChorusBase

/// Limits and timeouts for `HTTPServer`. Invariant (checked by `validate()`, which the server
/// calls): every limit and timeout is positive.
///
/// The timeouts make slow clients cheap: a connection must deliver its request head within
/// `headerTimeout` of its first byte (or of being accepted), its body within `bodyTimeout`,
/// and may sit idle between requests for `idleTimeout`.
public struct HTTPServerSettings: Sendable, Equatable {
    /// Request line plus headers. Default 16 KiB (nginx's large_client_header_buffers order);
    /// beyond it the answer is 431.
    public var maxHeadBytes = 16 * 1024
    /// Number of header fields. Default 100 (Go's and nginx's practical limit); beyond: 431.
    public var maxHeaderCount = 100
    /// Request body (Content-Length). Default 1 MiB; beyond it the answer is 413.
    public var maxBodyBytes = 1 << 20
    /// Largest response the server queues for one connection. Default 64 MiB.
    public var maxResponseBytes = 64 << 20
    /// Simultaneous open connections; beyond it a new connection gets 503 and is closed.
    /// Default 256: the API serves operators and tooling, not the public.
    public var maxConnections = 256
    /// Time from a request's first byte (or the accept) to the end of its head. Default 10 s.
    public var headerTimeout: Interval = .milliseconds(10_000)
    /// Time from the end of the head to the end of the body. Default 30 s.
    public var bodyTimeout: Interval = .milliseconds(30_000)
    /// Time a kept-alive connection may wait for its next request. Default 60 s.
    public var idleTimeout: Interval = .milliseconds(60_000)
    /// Time a handler has to respond before the client gets 503. Default 5 min, above any
    /// long-poll the API offers.
    public var responseTimeout: Interval = .milliseconds(300_000)

    public init() {}

    public func validate() throws(SettingsError) {
        func positive(_ name: String, _ v: Int) throws(SettingsError) {
            if v <= 0 { throw SettingsError(setting: name, rule: "must be positive, got \(v)") }
        }
        func positive(_ name: String, _ v: Interval) throws(SettingsError) {
            if v <= .zero { throw SettingsError(setting: name, rule: "must be positive, got \(v)") }
        }
        try positive("maxHeadBytes", maxHeadBytes)
        try positive("maxHeaderCount", maxHeaderCount)
        try positive("maxBodyBytes", maxBodyBytes)
        try positive("maxResponseBytes", maxResponseBytes)
        try positive("maxConnections", maxConnections)
        try positive("headerTimeout", headerTimeout)
        try positive("bodyTimeout", bodyTimeout)
        try positive("idleTimeout", idleTimeout)
        try positive("responseTimeout", responseTimeout)
    }
}
