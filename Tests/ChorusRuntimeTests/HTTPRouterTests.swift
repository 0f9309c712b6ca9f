import Testing
@testable import ChorusRuntime

@Suite struct HTTPRouterTests {
    /// Routes `request` and returns what was answered.
    func route(_ router: HTTPRouter, _ method: HTTPMethod, _ target: String) -> HTTPResponse? {
        let answer = Recorder<HTTPResponse>()
        router.handle(HTTPRequest(method: method, target: target), HTTPResponder { answer.append($0) })
        return answer.all.first
    }

    func makeRouter() -> HTTPRouter {
        let router = HTTPRouter()
        router.get("/v1/members") { _, r in r.respond(.text(200, "members")) }
        router.get("/v1/locks/{name}") { req, r in r.respond(.text(200, "get \(req.pathParameters["name"] ?? "?")")) }
        router.delete("/v1/locks/{name}") { req, r in r.respond(.text(200, "delete \(req.pathParameters["name"] ?? "?")")) }
        router.post("/v1/queues/{queue}/items/{id}") { req, r in
            r.respond(.text(200, "\(req.pathParameters["queue"] ?? "?")/\(req.pathParameters["id"] ?? "?")"))
        }
        return router
    }

    @Test func literalPath_reachesItsHandler() {
        #expect(route(makeRouter(), .get, "/v1/members?x=1")?.bodyText == "members")
    }

    @Test func parameterSegments_areCapturedAndDecoded() {
        let router = makeRouter()
        #expect(route(router, .get, "/v1/locks/a%2Fb")?.bodyText == "get a/b")
        #expect(route(router, .delete, "/v1/locks/x")?.bodyText == "delete x")
        #expect(route(router, .post, "/v1/queues/jobs/items/42")?.bodyText == "jobs/42")
    }

    @Test func unknownPath_gets404WithErrorBody() {
        let r = route(makeRouter(), .get, "/v1/nothing")
        #expect(r?.status == 404)
        #expect(r?.bodyText?.contains(#""code":"not_found""#) == true)
    }

    @Test func knownPathWithWrongMethod_gets405WithAllowHeader() {
        let r = route(makeRouter(), .put, "/v1/locks/x")
        #expect(r?.status == 405)
        #expect(r?.headers["Allow"] == "DELETE, GET, HEAD")
    }

    @Test func unknownMethodToken_onKnownPath_gets405() {
        #expect(route(makeRouter(), HTTPMethod(rawValue: "BREW"), "/v1/members")?.status == 405)
    }

    @Test func head_isServedByTheGetHandler() {
        #expect(route(makeRouter(), .head, "/v1/members")?.status == 200)
    }

    @Test func emptyParameterSegment_doesNotMatch() {
        #expect(route(makeRouter(), .get, "/v1/locks/")?.status == 404)
    }

    @Test(arguments: ["no-slash", "/a/{}", "/a/{x}/{x}", "/a/b{x}"])
    func invalidPattern_isRejected(_ text: String) {
        #expect(HTTPRoutePattern(text) == nil)
    }

    @Test func responderDroppedWithoutAnswer_sends500() {
        let router = HTTPRouter()
        router.get("/forgetful") { _, _ in }
        let r = route(router, .get, "/forgetful")
        #expect(r?.status == 500)
        #expect(r?.bodyText?.contains("no_response") == true)
    }

    @Test func secondResponse_isIgnored() {
        let answers = Recorder<Int>()
        let responder = HTTPResponder { answers.append($0.status) }
        #expect(responder.respond(.text(200, "a")))
        #expect(!responder.respond(.text(500, "b")))
        #expect(answers.all == [200])
    }

    @Test func routeTable_listsEveryRouteInOrderWithItsPattern() {
        let table = makeRouter().routeTable.map { "\($0.method) \($0.pattern)" }
        #expect(table == ["GET /v1/members", "GET /v1/locks/{name}", "DELETE /v1/locks/{name}", "POST /v1/queues/{queue}/items/{id}"])
    }
}
