import ChorusBase
import ChorusSeal
import Foundation

// Online key rotation over the HTTP API, applied to this node (memberlist's keyring model:
// install a key on every node, then make it primary on every node, then remove the old one
// from every node). `chorus keys` drives these routes one node at a time.
extension Agent {

    func addKeyRoutes(to router: HTTPRouter) {
        router.get("/v1/keys") { [unowned self] _, responder in responder.respond(self.keyListing()) }
        router.post("/v1/keys/install") { [unowned self] request, responder in
            responder.respond(self.changeKeys(request) { key throws(KeyringError) in try self.transportSeal.install(key) })
        }
        router.post("/v1/keys/use") { [unowned self] request, responder in
            responder.respond(self.changeKeys(request) { key throws(KeyringError) in try self.transportSeal.use(key) })
        }
        router.post("/v1/keys/remove") { [unowned self] request, responder in
            responder.respond(self.changeKeys(request) { key throws(KeyringError) in try self.transportSeal.remove(key) })
        }
        router.put("/v1/keys/mode") { [unowned self] request, responder in responder.respond(self.setSealMode(request)) }
    }

    /// Key ids only: key material never leaves the node through the API.
    private func keyListing() -> HTTPResponse {
        let seal = transportSeal.seal
        return .json(200, ["primary": seal.keyring.primary.map { $0.id as Any } ?? NSNull(), "keys": seal.keyring.keys.map(\.id),
                           "mode": seal.mode.rawValue, "refused": transportSeal.refusals])
    }

    private func changeKeys(_ request: HTTPRequest, _ change: (SealKey) throws(KeyringError) -> Void) -> HTTPResponse {
        guard let object = try? JSONValue.parse(request.body).objectValue, object.keys.allSatisfy({ $0 == "key" }),
              let text = object["key"]?.stringValue, let key = SealKey(hex: text) else {
            return .error(400, code: "invalid_request", message: "body must be {\"key\": \"<64 hex digits>\"}")
        }
        do { try change(key) } catch { return .error(409, code: "keyring_refused", message: error.description) }
        log.info("keyring changed", ["primary": transportSeal.seal.keyring.primary?.id ?? "none", "keys": transportSeal.seal.keyring.keys.count])
        return keyListing()
    }

    private func setSealMode(_ request: HTTPRequest) -> HTTPResponse {
        guard let object = try? JSONValue.parse(request.body).objectValue, object.keys.allSatisfy({ $0 == "mode" }),
              let text = object["mode"]?.stringValue, let mode = SealMode(rawValue: text) else {
            return .error(400, code: "invalid_request", message: "body must be {\"mode\": \"required\" | \"accept_plaintext\" | \"open\"}")
        }
        transportSeal.setMode(mode)
        log.info("seal mode changed", ["mode": transportSeal.seal.mode.rawValue])
        return keyListing()
    }
}
