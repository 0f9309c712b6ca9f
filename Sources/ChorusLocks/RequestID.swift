/// A client's identifier of one request, 1…128 bytes of UTF-8, chosen by the client and
/// reused unchanged when it retries. The table applies a request once per (session, request
/// id) — per request id alone for `openSession` — so a client must not reuse an id for a
/// different request within a session (and must make `openSession` ids globally unique, for
/// example a random UUID).
///
/// Compared and hashed by bytes, like `LockName`. Invariant: 1…128 bytes.
public struct RequestID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Longest request id in UTF-8 bytes.
    public static let maxBytes = 128

    public let text: String

    public init(_ text: String) throws(LockInputError) {
        let n = text.utf8.count
        guard n >= 1 else { throw .invalidRequestID("empty") }
        guard n <= RequestID.maxBytes else { throw .invalidRequestID("\(n) bytes, more than \(RequestID.maxBytes)") }
        self.text = text
    }

    public static func == (a: RequestID, b: RequestID) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
    public static func < (a: RequestID, b: RequestID) -> Bool { a.text.utf8.lexicographicallyPrecedes(b.text.utf8) }
    public func hash(into hasher: inout Hasher) { ByteHashing.combine(text, into: &hasher) }
    public var description: String { text }
}
