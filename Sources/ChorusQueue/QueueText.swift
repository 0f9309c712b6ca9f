/// A validated identifier made of UTF-8 text: compared, hashed and sorted by its bytes, so
/// equality, hashing and order agree in every process (Swift's `String` equality follows
/// Unicode canonical equivalence, which two byte-different producer ids must not share).
///
/// Conforming types check their own rules in their initialiser; the shared length and
/// control-character rule lives in `checked(_:what:maxBytes:)`.
public protocol QueueText: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Longest value in UTF-8 bytes.
    static var maxBytes: Int { get }
    var text: String { get }
}

extension QueueText {
    public static func == (a: Self, b: Self) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
    public static func < (a: Self, b: Self) -> Bool { a.text.utf8.lexicographicallyPrecedes(b.text.utf8) }
    public func hash(into hasher: inout Hasher) {
        var copy = text
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(text.utf8.count)
    }
    public var description: String { text }

    /// `text` when it has 1…`maxBytes` UTF-8 bytes and no control character (Unicode `Cc`).
    static func checked(_ text: String, what: String) throws(QueueInputError) -> String {
        let n = text.utf8.count
        guard n >= 1 else { throw QueueInputError("\(what) is empty") }
        guard n <= maxBytes else { throw QueueInputError("\(what) has \(n) bytes, more than \(maxBytes)") }
        if let bad = text.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw QueueInputError("\(what) holds control character U+\(String(bad.value, radix: 16, uppercase: true))")
        }
        return text
    }
}

/// The ordering key of a message: 1…256 bytes. Messages of one key in one partition are
/// delivered in publish order, and the key picks the partition (`PartitionChoice`).
/// Invariant: every `MessageKey` passed `QueueText.checked`.
public struct MessageKey: QueueText {
    /// Longer than SQS's 128-character message group id, so such ids always fit.
    public static let maxBytes = 256
    public let text: String
    public init(_ text: String) throws(QueueInputError) { self.text = try Self.checked(text, what: "message key") }
}

/// A producer's id for one message, for deduplication: a second publish with the same id
/// within the dedup window is acknowledged with the first copy's offset and stores nothing.
/// 1…128 bytes, SQS's limit for `MessageDeduplicationId`. Invariant: passed `checked`.
public struct ProducerMessageID: QueueText {
    public static let maxBytes = 128
    public let text: String
    public init(_ text: String) throws(QueueInputError) { self.text = try Self.checked(text, what: "producer message id") }
    /// For ids this module builds from values that already keep the rules.
    init(trusted text: String) { self.text = text }
}

/// Who fetched a message: recorded in its lease and in its delivery history (which consumer
/// let a lease run out is what an operator asks of a dead letter). 1…64 bytes.
public struct ConsumerID: QueueText {
    public static let maxBytes = 64
    public let text: String
    public init(_ text: String) throws(QueueInputError) { self.text = try Self.checked(text, what: "consumer id") }
}
