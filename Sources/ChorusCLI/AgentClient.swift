import Foundation
import ChorusBase
import ChorusRuntime

/// How the client commands talk to an agent's HTTP API: the address comes from `--api`, else
/// the `CHORUS_API` environment variable, else `127.0.0.1:7947`; the bearer token from
/// `--api-token`, else `CHORUS_API_TOKEN`, else none.
///
/// Invariant: every failure (unreachable agent, timeout, error status, unreadable answer)
/// becomes a `CommandFailure` whose message is one line naming the agent's address.
struct AgentClient {
    static let defaultAddress = "127.0.0.1:7947"
    static let apiOption = CommandSpec.Option("--api", value: "HOST:PORT",
                                              help: "Address of the agent's HTTP API (or set CHORUS_API).", default: defaultAddress)

    static let tokenOption = CommandSpec.Option("--api-token", value: "TOKEN",
                                                help: "Bearer token of an agent run with --api-token-file (or set CHORUS_API_TOKEN).")

    let address: String
    /// Sent as `Authorization: Bearer <token>` when set.
    var token: String?
    let http = HTTPClient(peerName: "agent")

    init(address: String, token: String? = ProcessInfo.processInfo.environment["CHORUS_API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }) {
        self.address = address
        self.token = token
    }

    init(_ p: ParsedArguments, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let flag = p.string("--api") {
            address = flag
        } else if let env = environment["CHORUS_API"], !env.isEmpty {
            address = env
        } else {
            address = AgentClient.defaultAddress
        }
        if let flag = p.string("--api-token") {
            token = flag
        } else if let env = environment["CHORUS_API_TOKEN"], !env.isEmpty {
            token = env
        }
    }

    /// Sends a request and returns the response of a 2xx status.
    func call(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil,
              timeout: Interval = .seconds(5)) throws(CommandFailure) -> HTTPClientResponse {
        let body = try json.map { (object) throws(CommandFailure) -> [UInt8] in try AgentClient.encode(object) }
        let response: HTTPClientResponse
        do {
            response = try exchange(method, path, body: body, timeout: timeout)
        } catch {
            throw CommandFailure(error.description)
        }
        guard (200..<300).contains(response.status) else {
            if let e = response.apiError { throw CommandFailure("agent at \(address): \(e.message) (\(e.code))") }
            throw CommandFailure("agent at \(address) answered HTTP \(response.status)")
        }
        return response
    }

    /// Sends a request and returns whatever the agent answered, error statuses included; only
    /// a request that got no complete answer throws.
    func exchange(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil,
                  timeout: Interval = .seconds(5)) throws(HTTPClientError) -> HTTPClientResponse {
        var headers = HTTPHeaders()
        if let token { headers.set("Authorization", "Bearer \(token)") }
        return try http.request(method: method, address, path: path, body: body, headers: headers, timeout: timeout)
    }

    /// A JSON request body, keys sorted.
    static func encode(_ json: [String: Any]) throws(CommandFailure) -> [UInt8] {
        guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) else {
            throw CommandFailure("cannot encode the request body")
        }
        return Array(data)
    }

    /// The response body as `--json` prints it: the agent's JSON as sent, without the trailing
    /// newline.
    static func jsonText(_ response: HTTPClientResponse) -> String {
        response.bodyText?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// The response body as a JSON object.
    func object(_ response: HTTPClientResponse) throws(CommandFailure) -> [String: JSONValue] {
        guard let value = try? JSONValue.parse(response.body), let object = value.objectValue else {
            throw CommandFailure("agent at \(address) sent an answer that is not a JSON object")
        }
        return object
    }
}
