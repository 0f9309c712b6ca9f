import ChorusBase

/// A JSON object key chosen at run time, so scenario objects can refuse unknown fields.
struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { stringValue = "[\(intValue)]"; self.intValue = intValue }

    /// "network.latency", "actions[3].nodes[1]": the path as a person finds it in the file.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var out = ""
        for key in codingPath {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    static func join(_ path: String, _ field: String) -> String { path.isEmpty ? field : "\(path).\(field)" }
}

/// Reads one JSON object of a scenario file field by field.
///
/// Invariant: construction fails on any field not in `allowed` (a misspelt optional field must
/// not be silently ignored), and every error it throws is a `SimSettingError` naming the field
/// by its JSON path. Numbers that become times are range-checked before conversion, so no
/// input can trap on an integer overflow.
struct ScenarioFields {
    let container: KeyedDecodingContainer<JSONKey>
    let path: String

    /// Longest time accepted anywhere in a scenario: about 11.6 days, far beyond any run.
    static let maximumSeconds = 1_000_000.0

    init(_ decoder: any Decoder, allowed: [String]) throws {
        container = try decoder.container(keyedBy: JSONKey.self)
        path = JSONKey.path(decoder.codingPath)
        try allowOnly(allowed)
    }

    /// Refuses any field outside `allowed`: for objects whose fields depend on their `kind`.
    func allowOnly(_ allowed: [String], context: String = "") throws {
        // Sorted, so the error names the same field in every process (keys come from a dictionary).
        let unknown = container.allKeys.map(\.stringValue).filter { !allowed.contains($0) }.sorted()
        if let first = unknown.first {
            throw SimSettingError(field: field(first), message: "unknown field\(context) (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }

    func field(_ key: String) -> String { JSONKey.join(path, key) }

    func has(_ key: String) -> Bool { container.contains(JSONKey(key)) }

    func optional<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        try container.decodeIfPresent(T.self, forKey: JSONKey(key))
    }

    func required<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T {
        guard let value = try optional(key, as: T.self) else {
            throw SimSettingError(field: field(key), message: "missing required field")
        }
        return value
    }

    /// A whole number of type `T`. Foundation reports an unrepresentable number (-4 for a
    /// `UInt64`, 1.5 for an `Int`) as invalid JSON without a path; this names the field instead.
    func integer<T: FixedWidthInteger & Decodable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        do {
            return try container.decodeIfPresent(T.self, forKey: JSONKey(key))
        } catch {
            guard let number = try? container.decodeIfPresent(Double.self, forKey: JSONKey(key)) else { throw error }
            throw SimSettingError(field: field(key), message: "must be a whole number in \(T.min)...\(T.max) (got \(number))")
        }
    }

    /// A time in seconds in `0...maximumSeconds`.
    func seconds(_ key: String) throws -> Double? {
        guard let value = try optional(key, as: Double.self) else { return nil }
        try SimSettingError.require(value >= 0 && value <= ScenarioFields.maximumSeconds, field(key),
                                    "must be a number of seconds in 0...\(Int(ScenarioFields.maximumSeconds)) (got \(value))")
        return value
    }

    /// A duration written in milliseconds, in `0...maximumSeconds·1000`.
    func milliseconds(_ key: String) throws -> Interval? {
        guard let value = try optional(key, as: Double.self) else { return nil }
        try SimSettingError.require(value >= 0 && value <= ScenarioFields.maximumSeconds * 1000, field(key),
                                    "must be a number of milliseconds in 0...\(Int(ScenarioFields.maximumSeconds * 1000)) (got \(value))")
        return Interval(nanoseconds: Int64((value * 1e6).rounded()))
    }

    func requiredMilliseconds(_ key: String) throws -> Interval {
        guard let value = try milliseconds(key) else { throw SimSettingError(field: field(key), message: "missing required field") }
        return value
    }

    /// A probability in `[0, 1]`.
    func probability(_ key: String) throws -> Double? {
        guard let value = try optional(key, as: Double.self) else { return nil }
        try SimSettingError.require(value >= 0 && value <= 1, field(key), "must be a probability in [0, 1] (got \(value))")
        return value
    }
}

extension SimSettingError {
    /// Restates a Foundation decoding error as the field it is about and what was wrong.
    init(decoding error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            self.init(field: JSONKey.path(context.codingPath + [key]), message: "missing required field")
        case .typeMismatch(let type, let context):
            self.init(field: JSONKey.path(context.codingPath), message: "expected \(SimSettingError.jsonName(of: type)) (\(context.debugDescription))")
        case .valueNotFound(let type, let context):
            self.init(field: JSONKey.path(context.codingPath), message: "expected \(SimSettingError.jsonName(of: type)), found null")
        case .dataCorrupted(let context):
            let detail = context.underlyingError.map { "\(context.debugDescription): \($0)" } ?? context.debugDescription
            self.init(field: JSONKey.path(context.codingPath),
                      message: context.codingPath.isEmpty ? "not valid JSON (\(detail))" : detail)
        @unknown default:
            self.init(field: "", message: "cannot decode scenario: \(error)")
        }
    }

    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Int.Type, is Int32.Type, is UInt64.Type, is SimNodeID.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "a value of type \(type)"
        }
    }
}
