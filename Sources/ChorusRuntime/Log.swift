import Glibc
import Synchronization

/// A structured logger: a level, a message and ordered key/value fields per line, as text
/// (`2026-11-22T00:00:00.000Z INFO joined peer=10.0.0.2:7946`) or JSON
/// (`{"ts":"...","level":"info","msg":"joined","fields":{"peer":"10.0.0.2:7946"}}`).
///
/// Invariants: every entry is exactly one line (newlines in messages and values are
/// escaped); lines from concurrent threads never interleave (one lock around each write);
/// entries below `level` cost one atomic load and are not formatted.
public final class Log: Sendable {
    public enum Level: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
        case debug = 0, info, warn, error

        /// Parses "debug", "info", "warn"/"warning", "error" (any case).
        public init?(parsing text: String) {
            switch text.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warn
            case "error": self = .error
            default: return nil
            }
        }

        public var description: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warn: return "warn"
            case .error: return "error"
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public let format: Format
    private let minimum: Atomic<Int>
    private let sink: @Sendable (String) -> Void
    private let writeLock = Mutex<Void>(())

    /// - Parameter sink: receives each finished line (without the newline); the default
    ///   writes it to standard error.
    public init(level: Level = .info, format: Format = .text, sink: @escaping @Sendable (String) -> Void = Log.standardError) {
        self.format = format
        self.minimum = Atomic(level.rawValue)
        self.sink = sink
    }

    /// The least severe level written; can be changed while running.
    public var level: Level {
        get { Level(rawValue: minimum.load(ordering: .relaxed)) ?? .info }
        set { minimum.store(newValue.rawValue, ordering: .relaxed) }
    }

    public func debug(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.debug, message(), fields) }
    public func info(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.info, message(), fields) }
    public func warn(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.warn, message(), fields) }
    public func error(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.error, message(), fields) }

    public func log(_ level: Level, _ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) {
        guard level.rawValue >= minimum.load(ordering: .relaxed) else { return }
        let line = Log.render(level: level, message: message(), fields: fields, format: format, timestamp: WallClock.iso8601())
        writeLock.withLock { _ in sink(line) }
    }

    /// Logs a line whose fields were built at run time (the node's log effects).
    public func log(_ level: Level, _ message: String, pairs: [(key: String, value: Any)]) {
        guard level.rawValue >= minimum.load(ordering: .relaxed) else { return }
        let line = Log.render(level: level, message: message, fields: pairs, format: format, timestamp: WallClock.iso8601())
        writeLock.withLock { _ in sink(line) }
    }

    /// Writes `line` and a newline to file descriptor 2 in one call.
    public static let standardError: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            if n <= 0 { return }  // stderr closed or full: drop rather than block the loop
            offset += n
        }
    }

    // MARK: Formatting

    static func render(level: Level, message: String, fields: KeyValuePairs<String, Any>, format: Format, timestamp: String) -> String {
        render(level: level, message: message, fields: fields.map { (key: $0.key, value: $0.value) }, format: format, timestamp: timestamp)
    }

    static func render(level: Level, message: String, fields: [(key: String, value: Any)], format: Format, timestamp: String) -> String {
        switch format {
        case .text:
            var line = "\(timestamp) \(level.description.uppercased()) \(escapeText(message))"
            for (key, value) in fields {
                line += " \(textKey(key))=\(textValue(String(describing: value)))"
            }
            return line
        case .json:
            var line = "{\"ts\":\(JSONText.quoted(timestamp)),\"level\":\(JSONText.quoted(level.description)),\"msg\":\(JSONText.quoted(message))"
            if !fields.isEmpty {
                line += ",\"fields\":{"
                line += fields.map { "\(JSONText.quoted($0.key)):\(jsonValue($0.value))" }.joined(separator: ",")
                line += "}"
            }
            return line + "}"
        }
    }

    /// A message on one line: newlines become `\n`.
    private static func escapeText(_ s: String) -> String {
        guard s.contains(where: { $0.isNewline }) else { return s }
        return s.replacingNewlines()
    }

    private static func textKey(_ key: String) -> String {
        let safe = key.unicodeScalars.map { c -> Character in
            c.value > 0x20 && c != "=" && c != "\"" && c.value != 0x7F ? Character(c) : "_"
        }
        return safe.isEmpty ? "_" : String(safe)
    }

    /// logfmt-style: bare when safe, else a double-quoted string with JSON escapes (so a
    /// control character in a peer-supplied value cannot forge a log line).
    private static func textValue(_ s: String) -> String {
        let needsQuotes = s.isEmpty || s.unicodeScalars.contains { $0.value <= 0x20 || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value == 0x7F }
        return needsQuotes ? JSONText.quoted(s) : s
    }

    private static func jsonValue(_ value: Any) -> String {
        switch value {
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return String(i)
        case let i as Int64: return String(i)
        case let i as UInt64: return String(i)
        case let i as Int32: return String(i)
        case let i as UInt32: return String(i)
        case let i as UInt16: return String(i)
        case let d as Double where d.isFinite: return "\(d)"
        default: return JSONText.quoted(String(describing: value))
        }
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        var out = ""
        for c in self {
            if c == "\r\n" { out += "\\r\\n" } else if c == "\n" { out += "\\n" } else if c == "\r" { out += "\\r" } else { out.append(c) }
        }
        return out
    }
}
