import ChorusBase
import ChorusRaft
import ChorusRing
import ChorusShards
import Dispatch
import Foundation
import Synchronization

// GET /v1/shards and the key-value API on the shards (docs/api.md).
extension Agent {

    func addShardRoutes(to router: HTTPRouter) {
        router.get("/v1/shards") { [unowned self] request, responder in self.shardsList(request, responder) }
        router.get("/v1/kv/{key}") { [unowned self] request, responder in self.kvRead(request, responder) }
        router.put("/v1/kv/{key}") { [unowned self] request, responder in self.kvWrite(request, responder) }
        router.delete("/v1/kv/{key}") { [unowned self] request, responder in self.kvWrite(request, responder) }
        addLockRoutes(to: router)
        addInternalLockRoutes(to: router)
    }

    // MARK: GET /v1/shards

    /// This node's replicas as views (names resolved here).
    func localShardViews() -> [ShardView] {
        func name(_ id: NodeID) -> String { memberName(of: id) ?? String(id.value, radix: 16) }
        return shards.host.statuses.map { s in
            ShardView(shard: Int(s.shard.value), replicas: s.voters.map(name), learners: s.learners.map(name),
                      leader: s.leader.map(name), term: s.term.value, commitIndex: s.commit.value,
                      appliedIndex: s.applied.value, reportedBy: settings.name)
        }
    }

    /// `?local=1`: this node's replicas only. Otherwise every shard: this node asks every live
    /// member for its replicas and keeps, per shard, the most authoritative report (the
    /// leader's), so the answer is complete from any node.
    private func shardsList(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let local = localShardViews()
        if request.query("local") == "1" {
            responder.respond(.json(200, local))
            return
        }
        let shardCount = settings.placement.shardCount
        let map = shards.placementMap ?? currentRing().shardMap
        askEveryLiveMember("/v1/shards?local=1") { bodies in
            let reports = local + bodies.flatMap { (try? JSONDecoder().decode([ShardView].self, from: Data($0))) ?? [] }
            var best: [Int: ShardView] = [:]
            for v in reports where v.shard >= 0 && v.shard < shardCount {
                best[v.shard] = best[v.shard].map { ShardView.better($0, v) } ?? v
            }
            let rows = (0..<shardCount).map { s in
                best[s] ?? ShardView(shard: s, replicas: map.placement(ShardID(s)).replicas, learners: [], leader: nil,
                                     term: 0, commitIndex: 0, appliedIndex: 0, reportedBy: nil)
            }
            responder.respond(.json(200, rows))
        }
    }

    /// Asks every live member's API for `path` at once (each call on its own thread, within
    /// the outbound bound) and hands the bodies of the 200 answers to `done`, off the loop
    /// thread, once every call ended (a member that does not answer costs at most 1.5 s).
    func askEveryLiveMember(_ path: String, _ done: @escaping @Sendable ([[UInt8]]) -> Void) {
        let apis = shards.peers.values.filter(\.live).compactMap(\.api).sorted()
        let bodies = Mutex<[[UInt8]]>([])
        let group = DispatchGroup()
        for api in apis {
            group.enter()
            let started = outbound.start {
                if let r = try? HTTPClient(peerName: "member").request(api, path: path, timeout: .milliseconds(1_500)), r.status == 200 {
                    bodies.withLock { $0.append(r.body) }
                }
                group.leave()
            }
            if !started { group.leave() }
        }
        // Sorted, so ties between reports never depend on which member answered first.
        group.notify(queue: .global()) { done(bodies.withLock { $0 }.sorted { $0.lexicographicallyPrecedes($1) }) }
    }

    // MARK: /v1/kv/{key}

    private func kvKey(_ request: HTTPRequest) -> [UInt8]? {
        guard let key = request.pathParameters["key"], !key.isEmpty, key.utf8.count <= ShardCommand.maxKeyBytes else { return nil }
        return Array(key.utf8)
    }

    func shard(forKey key: [UInt8]) -> ShardID {
        currentRing().shardMap.shard(forKey: String(decoding: key, as: UTF8.self))
    }

    /// PUT (body = the value) and DELETE: proposed on the shard's leader, exactly once per
    /// request id.
    private func kvWrite(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let key = kvKey(request) else {
            responder.respond(.error(400, code: "invalid_key", message: "key must be 1...\(ShardCommand.maxKeyBytes) bytes"))
            return
        }
        let shard = shard(forKey: key)
        routeToLeader(request, shard: shard, responder, local: kvWriteOnLeader(key: key, shard: shard))
    }

    /// The write as the shard's leader carries it out; on an unknown outcome it routes the
    /// same request (same request id) again within the same deadline.
    private func kvWriteOnLeader(key: [UInt8], shard: ShardID) -> ShardHandler {
        { [unowned self] request, responder, deadline in
            let command: ShardCommand = request.method == .delete ? .delete(key: key) : .put(key: key, value: request.body)
            let requestID = Array((request.headers[Agent.requestIDHeader] ?? "").utf8)
            let token = self.shards.token()
            let again = self.kvWriteOnLeader(key: key, shard: shard)
            do throws(ShardRefusal) {
                switch try self.shards.host.propose(shard: shard, requestID: requestID, command: command.encoded(), token: token) {
                case let .alreadyApplied(index, reply):
                    responder.respond(Agent.kvWriteResponse(key: key, shard: shard, index: index, reply: reply))
                case .proposed:
                    self.shards.await(token, at: self.loop.now()) { [unowned self] outcome in
                        switch outcome {
                        case let .applied(index, reply):
                            responder.respond(Agent.kvWriteResponse(key: key, shard: shard, index: index, reply: reply))
                        case .readable, .unknown:
                            self.routeToLeader(request, shard: shard, deadline: deadline, responder, local: again)
                        }
                    }
                    self.scheduleShardDrive()
                }
            } catch {
                self.refused(error, request: request, shard: shard, deadline: deadline, responder, local: again)
            }
        }
    }

    static func kvWriteResponse(key: [UInt8], shard: ShardID, index: LogIndex, reply: [UInt8]) -> HTTPResponse {
        let status = reply.first.flatMap(ShardState.Reply.init(rawValue:))
        switch status {
        case .done?: return .json(200, ["key": String(decoding: key, as: UTF8.self), "shard": Int(shard.value), "index": index.value] as [String: Any])
        case .absent?: return .error(404, code: "not_found", message: "no such key")
        case .unreadable?, nil: return .error(500, code: "internal", message: "the shard could not read the command")
        }
    }

    /// A refusal from the host: not the leader (any more) → route again; leadership moving →
    /// route again once the move had time to finish; overloaded → 503.
    func refused(_ error: ShardRefusal, request: HTTPRequest, shard: ShardID, deadline: Instant, _ responder: HTTPResponder,
                 local: @escaping ShardHandler) {
        switch error {
        case .notLeader, .notHosted:
            routeToLeader(request, shard: shard, deadline: deadline, responder, local: local)
        case .leaderMoving:
            guard loop.now() < deadline else {
                responder.respond(.error(503, code: "no_leader", message: "\(error.description) for shard \(shard); retry"))
                return
            }
            loop.schedule(after: .milliseconds(20)) { [weak self] in
                self?.routeToLeader(request, shard: shard, deadline: deadline, responder, local: local)
            }
        case .overloaded:
            responder.respond(.error(503, code: "overloaded", message: error.description))
        case .rejected:
            responder.respond(.error(400, code: "rejected", message: error.description))
        }
    }

    /// GET: a linearizable read through ReadIndex on the shard's leader.
    private func kvRead(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let key = kvKey(request) else {
            responder.respond(.error(400, code: "invalid_key", message: "key must be 1...\(ShardCommand.maxKeyBytes) bytes"))
            return
        }
        let shard = shard(forKey: key)
        routeToLeader(request, shard: shard, responder, local: kvReadOnLeader(key: key, shard: shard))
    }

    /// The read as the shard's leader serves it, after a ReadIndex round.
    private func kvReadOnLeader(key: [UInt8], shard: ShardID) -> ShardHandler {
        { [unowned self] request, responder, deadline in
            let again = self.kvReadOnLeader(key: key, shard: shard)
            let token = self.shards.token()
            do throws(ShardRefusal) {
                try self.shards.host.read(shard: shard, token: token)
            } catch {
                self.refused(error, request: request, shard: shard, deadline: deadline, responder, local: again)
                return
            }
            self.shards.await(token, at: self.loop.now()) { [unowned self] outcome in
                guard case .readable = outcome, let machine = self.shards.host.machine(of: shard) else {
                    self.routeToLeader(request, shard: shard, deadline: deadline, responder, local: again)
                    return
                }
                guard let value = machine.values[key] else {
                    responder.respond(.error(404, code: "not_found", message: "no such key"))
                    return
                }
                var body: [String: Any] = ["key": String(decoding: key, as: UTF8.self), "shard": Int(shard.value)]
                if let text = String(validating: value, as: UTF8.self) { body["value"] = text } else { body["value_base64"] = Data(value).base64EncodedString() }
                responder.respond(.json(200, body))
            }
            self.scheduleShardDrive()
        }
    }
}
