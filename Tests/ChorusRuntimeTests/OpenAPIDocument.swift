import Foundation
@testable import ChorusRuntime

/// `docs/openapi.yaml` read into its operations, with every `$ref` of parameters, request
/// bodies and responses followed. Invariant: `operations` holds one entry per (method, path)
/// of the document, in path then method order, and each operation's parameters are its
/// path item's overridden by its own (by name and location), as OpenAPI specifies.
struct OpenAPIDocument {
    static let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    struct Parameter {
        let name: String
        let location: String
        let required: Bool
        let schema: JSONValue
        let example: JSONValue?
    }

    struct Operation {
        let method: String
        let path: String
        let id: String
        let parameters: [Parameter]
        /// Media type to (schema, example), from `requestBody.content`.
        let body: [String: (schema: JSONValue, example: JSONValue?)]
        let bodyRequired: Bool
        /// Status code text ("200") to the response object, references followed.
        let responses: [String: JSONValue]
        /// Whether a request without credentials is allowed (`security` lists `{}`).
        let openWithoutToken: Bool

        var label: String { "\(method.uppercased()) \(path)" }
    }

    let root: JSONValue
    let operations: [Operation]
    let schemas: JSONSchemaCheck

    /// The repository's document, found from this file's path.
    static func load() throws -> OpenAPIDocument {
        let here = URL(fileURLWithPath: #filePath)
        let file = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
        return try OpenAPIDocument(text: String(contentsOf: file, encoding: .utf8))
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    init(text: String) throws {
        root = try YAMLSubset.parse(text)
        schemas = JSONSchemaCheck(document: root)
        guard let paths = root.objectValue?["paths"]?.objectValue else { throw Invalid(description: "no paths") }
        let globalOpen = Self.allowsAnonymous(root.objectValue?["security"])
        var operations: [Operation] = []
        for path in paths.keys.sorted() {
            guard let item = paths[path]?.objectValue else { throw Invalid(description: "\(path) is not a path item") }
            for key in item.keys where key != "parameters" && !Self.methods.contains(key) {
                throw Invalid(description: "\(path): unknown path item key \"\(key)\"")
            }
            let shared = try Self.parameters(item["parameters"], schemas, at: path)
            for method in Self.methods {
                guard let op = item[method]?.objectValue else { continue }
                let label = "\(method.uppercased()) \(path)"
                guard let id = op["operationId"]?.stringValue else { throw Invalid(description: "\(label): no operationId") }
                var merged = shared
                for p in try Self.parameters(op["parameters"], schemas, at: label) {
                    merged.removeAll { $0.name == p.name && $0.location == p.location }
                    merged.append(p)
                }
                var body: [String: (schema: JSONValue, example: JSONValue?)] = [:]
                var bodyRequired = false
                if let requestBody = op["requestBody"].flatMap(schemas.dereferenced)?.objectValue {
                    bodyRequired = requestBody["required"] == .bool(true)
                    for (type, media) in requestBody["content"]?.objectValue ?? [:] {
                        guard let m = media.objectValue, let schema = m["schema"] else { throw Invalid(description: "\(label): \(type) has no schema") }
                        body[type] = (schema, m["example"])
                    }
                }
                var responses: [String: JSONValue] = [:]
                for (status, response) in op["responses"]?.objectValue ?? [:] {
                    guard Int(status) != nil else { throw Invalid(description: "\(label): response \"\(status)\" is not a status code") }
                    guard let r = schemas.dereferenced(response) else { throw Invalid(description: "\(label) \(status): unresolvable") }
                    responses[status] = r
                }
                if responses.isEmpty { throw Invalid(description: "\(label): no responses") }
                let open = op["security"].map { Self.allowsAnonymous($0) } ?? globalOpen
                operations.append(Operation(method: method, path: path, id: id, parameters: merged, body: body,
                                            bodyRequired: bodyRequired, responses: responses, openWithoutToken: open))
            }
        }
        self.operations = operations
    }

    /// Whether a `security` list admits a request without credentials: it is absent, or
    /// it holds `{}` and nothing but `{}` (an optional scheme lists `{}` beside the scheme,
    /// which still demands the token when the agent has one).
    static func allowsAnonymous(_ security: JSONValue?) -> Bool {
        guard let list = security?.arrayValue else { return true }
        return !list.isEmpty && list.allSatisfy { $0 == .object([:]) }
    }

    static func parameters(_ value: JSONValue?, _ schemas: JSONSchemaCheck, at label: String) throws -> [Parameter] {
        guard let value else { return [] }
        guard let list = value.arrayValue else { throw Invalid(description: "\(label): parameters is not a list") }
        return try list.map { entry in
            guard let p = schemas.dereferenced(entry)?.objectValue, let name = p["name"]?.stringValue,
                  let location = p["in"]?.stringValue, let schema = p["schema"] else {
                throw Invalid(description: "\(label): a parameter lacks name, in or schema")
            }
            return Parameter(name: name, location: location, required: p["required"] == .bool(true), schema: schema, example: p["example"])
        }
    }
}
