import Foundation

/// A parsed JSON document kept as a tree, for input whose keys must be checked one by one
/// (config files, API bodies) so that errors can name the offending key.
///
/// Invariant: numbers that fit an `Int64` exactly are `.integer`; other numbers are finite
/// `.number`s; `true`/`false` are `.bool`, never numbers.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        // Order matters: Bool before numbers (a JSON `true` must not read as 1), integers
        // before doubles.
        if let v = try? c.decode(Bool.self) { self = .bool(v); return }
        if let v = try? c.decode(Int64.self) { self = .integer(v); return }
        if let v = try? c.decode(Double.self), v.isFinite { self = .number(v); return }
        if let v = try? c.decode(String.self) { self = .string(v); return }
        if let v = try? c.decode([JSONValue].self) { self = .array(v); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    /// Parses `bytes`; the error is one line saying why the text is not JSON.
    public static func parse(_ bytes: [UInt8]) throws(JSONValueError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw JSONValueError(JSONValue.summary(of: error))
        }
    }

    /// The name of this value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    public var objectValue: [String: JSONValue]? { if case let .object(o) = self { return o }; return nil }
    public var arrayValue: [JSONValue]? { if case let .array(a) = self { return a }; return nil }
    /// Integers and finite numbers as a Double.
    public var doubleValue: Double? {
        switch self {
        case let .integer(i): return Double(i)
        case let .number(d): return d
        default: return nil
        }
    }
    /// Integers, and numbers with no fractional part that fit an Int.
    public var intValue: Int? {
        switch self {
        case let .integer(i): return Int(exactly: i)
        case let .number(d): return Int(exactly: d)
        default: return nil
        }
    }

    private static func summary(of error: Error) -> String {
        switch error {
        case let DecodingError.dataCorrupted(context):
            return context.codingPath.isEmpty ? "not valid JSON" : "not valid JSON at \(path(context.codingPath))"
        case let DecodingError.typeMismatch(_, context):
            return "unsupported value at \(path(context.codingPath)) (numbers must be finite)"
        default:
            return "not valid JSON"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Why text could not be parsed as JSON. Invariant: `message` is one line.
public struct JSONValueError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
