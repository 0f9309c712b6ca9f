import Foundation
@testable import ChorusRuntime

/// Checks a JSON value against a schema of an OpenAPI 3.1 document (JSON Schema 2020-12),
/// for the keywords the document uses: `$ref` (to `#/...` in the document), `type` (a name
/// or a list of names, `"null"` among them), `enum`, `required`, `properties`,
/// `additionalProperties` (a boolean or a schema), `propertyNames`, `minProperties`, `items`, `minItems`,
/// `maxItems`, `minLength`, `maxLength` (in Unicode scalars), `pattern`, `minimum`,
/// `maximum`, `anyOf`, `oneOf`. Annotations (`description`, `format`, `contentEncoding`,
/// `example`) are ignored.
///
/// Invariant: a keyword outside those lists is an error, so a schema that says something
/// this checker cannot check never passes silently.
struct JSONSchemaCheck {
    let document: JSONValue

    static let annotations: Set<String> = ["description", "format", "contentEncoding", "example", "title", "default"]

    /// The problems of `value` against `schema`, each naming its place (`$.results[0].offset`).
    func problems(_ value: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        guard let s = schema.objectValue else { return ["\(path): schema is not an object"] }
        if let ref = s["$ref"] {
            guard let target = ref.stringValue.flatMap(resolve) else { return ["\(path): unresolvable $ref \(ref)"] }
            return problems(value, target, at: path)
        }
        var out: [String] = []
        for key in s.keys.sorted() {
            switch key {
            case "type", "enum", "required", "properties", "additionalProperties", "propertyNames", "minProperties", "items", "minItems",
                 "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf", "oneOf":
                continue
            default:
                if !Self.annotations.contains(key) { out.append("\(path): schema keyword \"\(key)\" is not checked") }
            }
        }
        if let type = s["type"] {
            let names = type.arrayValue?.compactMap(\.stringValue) ?? type.stringValue.map { [$0] } ?? []
            guard names.contains(where: { Self.hasType(value, $0) }) else {
                return out + ["\(path): \(value.typeName) where \(names.joined(separator: " or ")) is documented"]
            }
        }
        if let options = s["enum"]?.arrayValue, !options.contains(value) {
            out.append("\(path): \(Self.short(value)) is not one of the documented \(options.map(Self.short))")
        }
        if let anyOf = s["anyOf"]?.arrayValue {
            let failing = anyOf.map { problems(value, $0, at: path) }
            if !failing.contains(where: \.isEmpty) { out.append("\(path): matches none of anyOf: \(failing.flatMap { $0 }.prefix(4))") }
        }
        if let oneOf = s["oneOf"]?.arrayValue {
            let passing = oneOf.filter { problems(value, $0, at: path).isEmpty }.count
            if passing != 1 { out.append("\(path): matches \(passing) of oneOf, not exactly one") }
        }
        switch value {
        case let .object(object):
            for name in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object[name] == nil {
                out.append("\(path): required \"\(name)\" is missing")
            }
            if let min = s["minProperties"]?.intValue, object.count < min { out.append("\(path): fewer than \(min) properties") }
            let properties = s["properties"]?.objectValue ?? [:]
            for (name, member) in object.sorted(by: { $0.key < $1.key }) {
                if let names = s["propertyNames"] { out += problems(.string(name), names, at: "\(path) key \(JSONText.quoted(name))") }
                if let p = properties[name] {
                    out += problems(member, p, at: "\(path).\(name)")
                } else if let extra = s["additionalProperties"] {
                    if extra == .bool(false) {
                        out.append("\(path): \"\(name)\" is not a documented property")
                    } else if extra != .bool(true) {
                        out += problems(member, extra, at: "\(path).\(name)")
                    }
                }
            }
        case let .array(items):
            if let min = s["minItems"]?.intValue, items.count < min { out.append("\(path): fewer than \(min) items") }
            if let max = s["maxItems"]?.intValue, items.count > max { out.append("\(path): more than \(max) items") }
            if let itemSchema = s["items"] {
                for (n, item) in items.enumerated() { out += problems(item, itemSchema, at: "\(path)[\(n)]") }
            }
        case let .string(text):
            let length = text.unicodeScalars.count
            if let min = s["minLength"]?.intValue, length < min { out.append("\(path): shorter than \(min)") }
            if let max = s["maxLength"]?.intValue, length > max { out.append("\(path): longer than \(max)") }
            if let pattern = s["pattern"]?.stringValue {
                if let regex = try? NSRegularExpression(pattern: pattern) {
                    let range = NSRange(text.startIndex..., in: text)
                    if regex.firstMatch(in: text, range: range) == nil { out.append("\(path): \(Self.short(value)) does not match \(pattern)") }
                } else {
                    out.append("\(path): pattern \(pattern) does not compile")
                }
            }
        case .integer, .number:
            let n = value.doubleValue ?? 0
            if let min = s["minimum"]?.doubleValue, n < min { out.append("\(path): \(n) is below the minimum \(min)") }
            if let max = s["maximum"]?.doubleValue, n > max { out.append("\(path): \(n) is above the maximum \(max)") }
        case .null, .bool:
            break
        }
        return out
    }

    /// The value a `#/a/b` reference names.
    func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#/") else { return nil }
        var node = document
        for part in ref.dropFirst(2).split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node.objectValue?[key] else { return nil }
            node = next
        }
        return node
    }

    /// `value` itself, or what it refers to when it is a `{"$ref": ...}` object.
    func dereferenced(_ value: JSONValue) -> JSONValue? {
        if let ref = value.objectValue?["$ref"]?.stringValue { return resolve(ref).flatMap(dereferenced) }
        return value
    }

    static func hasType(_ value: JSONValue, _ name: String) -> Bool {
        switch (value, name) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"): return true
        case (.integer, "integer"), (.integer, "number"), (.number, "number"): return true
        case let (.number(d), "integer"): return d.rounded() == d
        default: return false
        }
    }

    static func short(_ value: JSONValue) -> String {
        let text = JSONRendering.text(value)
        return text.count > 60 ? String(text.prefix(60)) + "…" : text
    }
}

/// JSON text of a `JSONValue`, keys sorted, for request bodies and messages.
enum JSONRendering {
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .integer(i): return String(i)
        case let .number(d): return String(d)
        case let .string(s): return JSONText.quoted(s)
        case let .array(items): return "[" + items.map(text).joined(separator: ",") + "]"
        case let .object(object):
            return "{" + object.sorted { $0.key < $1.key }.map { JSONText.quoted($0.key) + ":" + text($0.value) }.joined(separator: ",") + "}"
        }
    }
}
