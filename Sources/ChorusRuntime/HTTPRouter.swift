/// Maps (method, path pattern) to handlers. Invariants: routes are tried in the order they
/// were added and the first match wins; a path no route matches gets 404, and a path some
/// route matches under other methods gets 405 with an `Allow` header listing them (HEAD is
/// served by the GET handler, with the body left off by the server). Build it before serving;
/// it is then only read.
public final class HTTPRouter {
    private struct Route {
        let method: HTTPMethod
        let pattern: HTTPRoutePattern
        let handler: HTTPServer.Handler
    }

    private var routes: [Route] = []
    /// Checked before any route: a response here answers the request instead (an
    /// authorization refusal); nil lets it through.
    public var gate: ((HTTPRequest) -> HTTPResponse?)?

    public init() {}

    /// Every route as (method, pattern), in the order they were added (the order they are
    /// tried in). HEAD is not listed: it is served by each GET route. Read-only: the table is
    /// what `docs/openapi.yaml` is checked against.
    public var routeTable: [(method: HTTPMethod, pattern: String)] {
        routes.map { ($0.method, $0.pattern.description) }
    }

    /// Adds a route. `pattern` is a literal path with `{param}` segments, e.g.
    /// `/v1/locks/{name}`; an invalid pattern is a programmer error and stops the process.
    public func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPServer.Handler) {
        guard let parsed = HTTPRoutePattern(pattern) else {
            preconditionFailure("HTTPRouter: invalid route pattern \"\(pattern)\"")
        }
        routes.append(Route(method: method, pattern: parsed, handler: handler))
    }

    public func get(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.get, pattern, handler) }
    public func post(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.post, pattern, handler) }
    public func put(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.put, pattern, handler) }
    public func delete(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.delete, pattern, handler) }

    /// Dispatches `request` to the matching route with `pathParameters` filled in.
    public func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        if let refusal = gate?(request) {
            responder.respond(refusal)
            return
        }
        var allowed: Set<HTTPMethod> = []
        for route in routes {
            guard let parameters = route.pattern.match(request.rawPath) else { continue }
            if route.method == request.method || (request.method == .head && route.method == .get) {
                var routed = request
                routed.pathParameters = parameters
                route.handler(routed, responder)
                return
            }
            allowed.insert(route.method)
            if route.method == .get { allowed.insert(.head) }
        }
        if allowed.isEmpty {
            responder.respond(.error(404, code: "not_found", message: "no such path: \(request.path)"))
            return
        }
        let allow = allowed.sorted().map(\.rawValue).joined(separator: ", ")
        var response = HTTPResponse.error(405, code: "method_not_allowed",
                                          message: "\(request.method) is not allowed on \(request.path); allowed: \(allow)")
        response.headers.set("Allow", allow)
        responder.respond(response)
    }

    /// The router as a server handler.
    public var handler: HTTPServer.Handler { { [self] request, responder in self.handle(request, responder) } }
}
