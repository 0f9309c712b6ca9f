import ChorusBase
import Foundation
import Testing
@testable import ChorusRuntime

/// `docs/openapi.yaml` is the API's contract: it lists exactly the routes the agent's router
/// serves, and a running agent answers every documented operation — its example, a request
/// without the token, and invalid input — with a status the document gives for that
/// operation and a body that validates against the schema documented for that status.
@Suite(.serialized) struct OpenAPIContractTests {
    static let token = "contract-test-token-0123456789"

    /// Operations in the order the contract run calls them: each one's example may need what
    /// an earlier one made (the queue, the session, a receipt); leave comes last.
    static let order = [
        "getHealth", "getMetrics", "getInfo", "listMembers", "getRing", "listShards", "setTags",
        "putKey", "getKey", "deleteKey",
        "openSession", "keepSessionAlive", "acquireLock", "getLock", "listLocks", "releaseLock", "closeSession",
        "createQueue", "listQueues", "getQueue", "publish", "fetch", "extend", "nack", "ack", "getQueueStats",
        "listDeadLetters", "redrive", "deleteQueue",
        "putCacheValue", "getCacheValue", "incrementCacheValue", "getCacheStats", "deleteCacheValue",
        // Join before the keyring changes: once this node seals with a key the peer lacks,
        // the peer cannot answer it.
        "join", "listKeys", "installKey", "useKey", "removeKey", "setSealMode", "leave",
    ]

    /// Valid examples whose documented answer is not a 2xx at that point of the run.
    static let expectedRefusals: [String: Int] = [
        // The example key became the primary through useKey; a primary is never removed.
        "removeKey": 409,
    ]

    @Test func document_listsExactlyTheRoutesTheRouterServes() throws {
        let doc = try OpenAPIDocument.load()
        let node = try TestAgent(name: "contract-routes")
        defer { node.stop() }
        let table = node.agent.makeRouter().routeTable.map { "\($0.method) \($0.pattern)" }
        let served = Set(table)
        let documented = Set(doc.operations.map(\.label))
        #expect(table.count == served.count, "the router holds a route twice: \(table)")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
    }

    @Test func document_isSelfConsistent() throws {
        let doc = try OpenAPIDocument.load()
        #expect(doc.root.objectValue?["openapi"] == .string("3.1.0"))
        let ids = doc.operations.map(\.id)
        #expect(Set(ids).count == ids.count, "operationIds repeat")
        #expect(ids.sorted() == Self.order.sorted(), "the contract run must call every documented operation once")
        for op in doc.operations {
            let templated = op.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
            let declared = op.parameters.filter { $0.location == "path" }.map(\.name)
            #expect(templated.sorted() == declared.sorted(), "\(op.label): path parameters \(declared) for \(templated)")
            #expect(op.openWithoutToken || op.responses["401"] != nil, "\(op.label): needs the token but documents no 401")
            for (status, response) in op.responses {
                #expect(response.objectValue?["description"]?.stringValue != nil, "\(op.label) \(status): no description")
                for (_, media) in response.objectValue?["content"]?.objectValue ?? [:] {
                    guard let schema = media.objectValue?["schema"] else { Issue.record("\(op.label) \(status): no schema"); continue }
                    // Walking the schema with a value of every type reaches each keyword once at least.
                    for probe: JSONValue in [.null, .object([:]), .array([]), .string(""), .integer(0)] {
                        let unchecked = doc.schemas.problems(probe, schema).filter { $0.contains("not checked") || $0.contains("unresolvable") }
                        #expect(unchecked.isEmpty, "\(op.label) \(status): \(unchecked)")
                    }
                }
            }
            for (type, media) in op.body {
                if let example = media.example, type == "application/json" {
                    let problems = doc.schemas.problems(example, media.schema)
                    #expect(problems.isEmpty, "\(op.label): its request example breaks its own schema: \(problems)")
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func everyOperation_answersItsExampleNoTokenAndInvalidInputAsDocumented() throws {
        let doc = try OpenAPIDocument.load()
        func configure(_ s: inout AgentSettings) {
            s.apiToken = try? APIToken(Self.token)
            s.placement.shardCount = 4
            s.placement.replicationFactor = 1
            s.drainTimeout = .milliseconds(500)
        }
        let node = try TestAgent(name: "contract", configure: configure)
        defer { node.stop() }
        let peer = try TestAgent(name: "contract-peer", configure: configure)
        defer { peer.stop() }
        var run = ContractRun(doc: doc, api: node.api, token: Self.token)
        #expect(eventually(timeout: 20) { run.shardsLed() }, "the single node's shards never elected leaders")
        // Literal values of the document's examples that stand for things the run makes.
        run.live["127.0.0.1:7946"] = peer.gossip.description

        let byID = Dictionary(uniqueKeysWithValues: doc.operations.map { ($0.id, $0) })
        for id in Self.order {
            guard let op = byID[id] else { Issue.record("no operation \(id)"); continue }
            // Without the token first: only the open routes answer it.
            let anonymous = try run.send(run.valid(op), token: nil)
            if op.openWithoutToken {
                #expect((200..<300).contains(anonymous.status), "\(op.label) without a token: \(anonymous.status)")
            } else {
                #expect(anonymous.status == 401, "\(op.label) without a token: \(anonymous.status)")
            }
            run.check(op, anonymous, "without a token")

            let invalid = run.invalid(op)
            let hasInput = !op.parameters.filter { $0.location != "header" }.isEmpty || !op.body.isEmpty
            #expect(!invalid.isEmpty || !hasInput, "\(op.label): no invalid input could be made from its parameters and body")
            for call in invalid {
                let r = try run.send(call, token: Self.token)
                #expect((400..<500).contains(r.status), "\(op.label) \(call.why): \(r.status) \(r.bodyText?.prefix(200) ?? "")")
                run.check(op, r, call.why)
            }

            let r = try run.send(run.valid(op), token: Self.token)
            if let refusal = Self.expectedRefusals[id] {
                #expect(r.status == refusal, "\(op.label) example: \(r.status) \(r.bodyText?.prefix(200) ?? "")")
            } else {
                #expect((200..<300).contains(r.status), "\(op.label) example: \(r.status) \(r.bodyText?.prefix(200) ?? "")")
            }
            run.check(op, r, "example")
            run.learn(from: op, r)
        }
    }
}

/// One run of the contract against a live agent: how each request is made from the
/// document, and how each answer is checked against it.
struct ContractRun {
    struct Call {
        let method: HTTPMethod
        let target: String
        let body: [UInt8]?
        let why: String
    }

    let doc: OpenAPIDocument
    let api: String
    let token: String
    /// Example literal to the live value that replaces it in paths, queries and bodies.
    var live: [String: String] = [:]

    func send(_ call: Call, token: String?) throws -> HTTPClientResponse {
        var headers = HTTPHeaders()
        if let token { headers.set("Authorization", "Bearer \(token)") }
        return try HTTPClient().request(method: call.method, api, path: call.target, body: call.body, headers: headers,
                                        timeout: .milliseconds(15_000))
    }

    func shardsLed() -> Bool {
        guard let r = try? send(Call(method: .get, target: "/v1/shards", body: nil, why: ""), token: token), r.status == 200,
              let rows = try? JSONValue.parse(r.body).arrayValue, !rows.isEmpty else { return false }
        return rows.allSatisfy { $0.objectValue?["leader"]?.stringValue != nil }
    }

    func substituted(_ text: String) -> String {
        var out = text
        for (literal, value) in live.sorted(by: { $0.key < $1.key }) { out = out.replacingOccurrences(of: literal, with: value) }
        return out
    }

    static func text(_ value: JSONValue) -> String {
        if case let .string(s) = value { return s }
        return JSONRendering.text(value)
    }

    static func encoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The request the document's examples make, with `replacing` giving one parameter
    /// another value and `body` (when given) replacing the example body.
    func request(_ op: OpenAPIDocument.Operation, replacing: (name: String, location: String, value: String)? = nil,
                 body: [UInt8]?? = nil, why: String) -> Call {
        var path = op.path
        var query: [String] = []
        for p in op.parameters {
            let given = replacing.flatMap { $0.name == p.name && $0.location == p.location ? $0.value : nil }
            let example = p.example.map { substituted(Self.text($0)) }
            switch p.location {
            case "path":
                let value = given ?? example ?? "missing-example"
                path = path.replacingOccurrences(of: "{\(p.name)}", with: Self.encoded(value))
            case "query":
                if let value = given ?? example { query.append("\(p.name)=\(Self.encoded(value))") }
            default:
                continue
            }
        }
        let target = query.isEmpty ? path : path + "?" + query.joined(separator: "&")
        let chosen: [UInt8]?
        if let body {
            chosen = body
        } else if let json = op.body["application/json"], let example = json.example {
            chosen = Array(substituted(JSONRendering.text(example)).utf8)
        } else if let raw = op.body["application/octet-stream"], let example = raw.example {
            chosen = Array(Self.text(example).utf8)
        } else {
            chosen = nil
        }
        return Call(method: HTTPMethod(rawValue: op.method.uppercased()), target: target, body: chosen, why: why)
    }

    func valid(_ op: OpenAPIDocument.Operation) -> Call {
        for p in op.parameters where p.location == "path" && p.example == nil { Issue.record("\(op.label): path parameter \(p.name) has no example") }
        if op.bodyRequired && op.body.values.allSatisfy({ $0.example == nil }) { Issue.record("\(op.label): required body has no example") }
        return request(op, why: "example")
    }

    /// One request per parameter whose schema some value breaks, and one per body: each
    /// must be refused with a documented 4xx.
    func invalid(_ op: OpenAPIDocument.Operation) -> [Call] {
        var calls: [Call] = []
        for p in op.parameters where p.location == "path" || p.location == "query" {
            guard let schema = doc.schemas.dereferenced(p.schema), let (bad, rule) = Self.breaking(schema, doc.schemas) else { continue }
            calls.append(request(op, replacing: (p.name, p.location, bad), why: "\(p.location) \(p.name) breaking \(rule)"))
        }
        if op.body["application/json"] != nil {
            calls.append(request(op, body: .some(Array("[]".utf8)), why: "a JSON body that is not an object"))
        }
        if let raw = op.body["application/octet-stream"], let max = doc.schemas.dereferenced(raw.schema)?.objectValue?["maxLength"]?.intValue {
            calls.append(request(op, body: .some([UInt8](repeating: UInt8(ascii: "x"), count: max + 1)), why: "a body over maxLength"))
        }
        return calls
    }

    /// A text value the schema refuses, and the rule it breaks.
    static func breaking(_ schema: JSONValue, _ schemas: JSONSchemaCheck) -> (String, String)? {
        guard let s = schema.objectValue else { return nil }
        if s["enum"] != nil { return ("not-documented", "enum") }
        if s["type"] == .string("integer") { return ("x", "type integer") }
        if let max = s["maxLength"]?.intValue { return (String(repeating: "x", count: max + 1), "maxLength \(max)") }
        if s["pattern"] != nil { return ("!", "pattern") }
        return nil
    }

    /// Records an issue unless `r`'s status is documented for `op` and its body validates.
    func check(_ op: OpenAPIDocument.Operation, _ r: HTTPClientResponse, _ why: String) {
        let label = "\(op.label) (\(why)) → \(r.status)"
        guard let response = op.responses[String(r.status)]?.objectValue else {
            Issue.record("\(label): status not documented (\(op.responses.keys.sorted())): \(r.bodyText?.prefix(200) ?? "")")
            return
        }
        let content = response["content"]?.objectValue ?? [:]
        if content.isEmpty {
            #expect(r.body.isEmpty, "\(label): a body where none is documented")
            return
        }
        let type = r.headers["Content-Type"].map { String($0.split(separator: ";")[0]).trimmingCharacters(in: .whitespaces) } ?? ""
        guard let media = content[type]?.objectValue, let schema = media["schema"] else {
            Issue.record("\(label): Content-Type \(type) is not documented (\(content.keys.sorted()))")
            return
        }
        let value: JSONValue
        if type == "application/json" {
            guard let parsed = try? JSONValue.parse(r.body) else { Issue.record("\(label): body is not JSON"); return }
            value = parsed
        } else {
            guard let text = r.bodyText else { Issue.record("\(label): body is not UTF-8 text"); return }
            value = .string(text)
        }
        let problems = doc.schemas.problems(value, schema)
        #expect(problems.isEmpty, "\(label): \(problems.prefix(5)) in \(r.bodyText?.prefix(300) ?? "")")
    }

    /// Keeps what an answer made that later examples stand for.
    mutating func learn(from op: OpenAPIDocument.Operation, _ r: HTTPClientResponse) {
        guard r.status == 200, let body = try? JSONValue.parse(r.body).objectValue else { return }
        switch op.id {
        case "openSession":
            if let id = body["id"]?.stringValue { live["0-1-1796242545090"] = id }
        case "fetch":
            if let receipt = body["messages"]?.arrayValue?.first?.objectValue?["receipt"]?.stringValue { live["0:1.1"] = receipt }
        default:
            break
        }
    }
}
