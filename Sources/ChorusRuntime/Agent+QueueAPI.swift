import ChorusBase
import ChorusNode
import ChorusQueue
import Foundation

// The queue service's front door (docs/api.md, "Queues"): HTTP JSON under /v1/queues parsed
// into typed `ClientRequest`s, and the node's queue replies rendered as JSON. Nothing here
// decides where a request goes or how it is served.
extension Agent {
    func addQueueRoutes(to router: HTTPRouter) {
        router.post("/v1/queues") { [unowned self] request, responder in
            switch Agent.queueCreation(request) {
            case let .success((name, settings)): self.submit(.queueCreate(name, settings), responder)
            case let .failure(rejection): responder.respond(rejection.response)
            }
        }
        router.get("/v1/queues") { [unowned self] _, responder in self.submit(.queueList, responder) }
        router.get("/v1/queues/{queue}") { [unowned self] request, responder in
            self.withQueue(request, responder) { .queueInfo($0) }
        }
        router.delete("/v1/queues/{queue}") { [unowned self] request, responder in
            self.withQueue(request, responder) { .queueDelete($0) }
        }
        router.get("/v1/queues/{queue}/stats") { [unowned self] request, responder in
            self.withQueue(request, responder) { .queueStats($0) }
        }
        router.post("/v1/queues/{queue}/messages") { [unowned self] request, responder in
            self.withQueueBody(request, responder) { name, body in
                guard let list = body["messages"]?.arrayValue else { throw Agent.queueInvalid("body must be {\"messages\": [...]}") }
                var messages: [OutgoingMessage] = []
                for item in list { messages.append(try Agent.outgoingMessage(item)) }
                return .queuePublish(name, messages)
            }
        }
        router.post("/v1/queues/{queue}/fetch") { [unowned self] request, responder in
            self.withQueueBody(request, responder) { name, body in
                let consumer = try Agent.queueText(try Agent.optionalText(body["consumer"], "consumer") ?? "anonymous", ConsumerID.init)
                let maxMessages = try Agent.count(body["max_messages"], default: 10, range: 1...1_000, "max_messages")
                let maxBytes = try Agent.count(body["max_bytes"], default: 0, range: 0...(64 << 20), "max_bytes")
                let visibility = try Agent.count(body["visibility_ms"], default: 0, range: 0...43_200_000, "visibility_ms")
                let wait = try Agent.count(body["wait_ms"], default: 0, range: 0...Int(ClientRequest.maxWaitMillis), "wait_ms")
                return .queueFetch(name, consumer: consumer, maxMessages: maxMessages, maxBytes: maxBytes,
                                   visibilityMillis: UInt64(visibility), waitMillis: UInt64(wait))
            }
        }
        router.post("/v1/queues/{queue}/ack") { [unowned self] request, responder in
            self.withQueueBody(request, responder) { name, body in .queueSettle(name, try Agent.receipts(body), .ack) }
        }
        router.post("/v1/queues/{queue}/nack") { [unowned self] request, responder in
            self.withQueueBody(request, responder) { name, body in
                let delay = try Agent.count(body["delay_ms"], default: 0, range: 0...86_400_000, "delay_ms")
                let dead = try Agent.optionalFlag(body["dead_letter"], "dead_letter") ?? false
                return .queueSettle(name, try Agent.receipts(body), .nack(delayMillis: UInt64(delay), deadLetter: dead))
            }
        }
        router.post("/v1/queues/{queue}/extend") { [unowned self] request, responder in
            self.withQueueBody(request, responder) { name, body in
                let millis = try Agent.count(body["visibility_ms"], default: 30_000, range: 1...43_200_000, "visibility_ms")
                return .queueSettle(name, try Agent.receipts(body), .extend(millis: UInt64(millis)))
            }
        }
        router.get("/v1/queues/{queue}/dead-letters") { [unowned self] request, responder in
            let limit: Int
            if let text = request.query["limit"] {
                guard let n = Int(text), (1...1_000).contains(n) else { responder.respond(Agent.invalid("limit must be 1...1000")); return }
                limit = n
            } else {
                limit = 100
            }
            self.withQueue(request, responder) { .queueDeadLetters($0, limit: limit) }
        }
        router.post("/v1/queues/{queue}/redrive") { [unowned self] request, responder in
            self.withQueueBody(request, responder) { name, body in
                .queueRedrive(name, maxMessages: try Agent.count(body["max_messages"], default: 1_000, range: 1...1_000_000, "max_messages"))
            }
        }
    }

    // MARK: parsing

    static func queueInvalid(_ message: String) -> Rejection { Rejection(response: Agent.invalid(message)) }

    private func withQueue(_ request: HTTPRequest, _ responder: HTTPResponder, _ make: (QueueName) -> ClientRequest) {
        guard let text = request.pathParameters["queue"], let name = try? QueueName(text) else {
            responder.respond(Agent.invalid("queue names are 1...\(QueueName.maxBytes) of A-Z a-z 0-9 - _ ."))
            return
        }
        submitTimed(make(name), responder)
    }

    /// Submits a queue request and records its duration in the queue's latency histograms.
    private func submitTimed(_ request: ClientRequest, _ responder: HTTPResponder) {
        let started = loop.now()
        submit(request, responder, present: { [unowned self] reply in
            self.queueMetrics.observe(request, reply, seconds: (self.loop.now() - started).seconds)
            return Agent.present(reply)
        })
    }

    private func withQueueBody(_ request: HTTPRequest, _ responder: HTTPResponder,
                               _ make: (QueueName, [String: JSONValue]) throws -> ClientRequest) {
        guard let text = request.pathParameters["queue"], let name = try? QueueName(text) else {
            responder.respond(Agent.invalid("queue names are 1...\(QueueName.maxBytes) of A-Z a-z 0-9 - _ ."))
            return
        }
        guard let body = Agent.bodyObject(request) else { responder.respond(Agent.invalid("body must be a JSON object")); return }
        do { submitTimed(try make(name, body), responder) } catch {
            responder.respond((error as? Rejection)?.response ?? Agent.invalid("\(error)"))
        }
    }

    static func queueText<T: QueueText>(_ text: String, _ make: (String) throws(QueueInputError) -> T) throws(Rejection) -> T {
        do { return try make(text) } catch { throw queueInvalid(error.message) }
    }

    /// An optional string field: absent is nil; present, it must be a string.
    static func optionalText(_ value: JSONValue?, _ field: String) throws(Rejection) -> String? {
        guard let value else { return nil }
        guard let text = value.stringValue else { throw queueInvalid("\(field) must be a string, got \(value.typeName)") }
        return text
    }

    /// An optional boolean field: absent is nil; present, it must be `true` or `false`.
    static func optionalFlag(_ value: JSONValue?, _ field: String) throws(Rejection) -> Bool? {
        guard let value else { return nil }
        guard case let .bool(flag) = value else { throw queueInvalid("\(field) must be true or false, got \(value.typeName)") }
        return flag
    }

    static func count(_ value: JSONValue?, default fallback: Int, range: ClosedRange<Int>, _ field: String) throws(Rejection) -> Int {
        guard let value else { return fallback }
        guard let n = value.intValue, range.contains(n) else { throw queueInvalid("\(field) must be an integer in \(range.lowerBound)...\(range.upperBound)") }
        return n
    }

    static func outgoingMessage(_ value: JSONValue) throws(Rejection) -> OutgoingMessage {
        guard let m = value.objectValue else { throw queueInvalid("each message must be an object") }
        guard m["body"] == nil || m["body_base64"] == nil else { throw queueInvalid("give a message \"body\" or \"body_base64\", not both") }
        let body: [UInt8]
        if let text = m["body"]?.stringValue {
            body = Array(text.utf8)
        } else if let b64 = m["body_base64"]?.stringValue {
            guard let data = Data(base64Encoded: b64) else { throw queueInvalid("body_base64 is not base64") }
            body = Array(data)
        } else {
            throw queueInvalid("each message needs \"body\" (text) or \"body_base64\"")
        }
        let key = try optionalText(m["key"], "key").map { (t: String) throws(Rejection) in try queueText(t, MessageKey.init) }
        let id = try optionalText(m["id"], "id").map { (t: String) throws(Rejection) in try queueText(t, ProducerMessageID.init) }
        return OutgoingMessage(body: body, key: key, producerID: id)
    }

    static func receipts(_ body: [String: JSONValue]) throws(Rejection) -> [QueueReceipt] {
        guard let list = body["receipts"]?.arrayValue, !list.isEmpty else { throw queueInvalid("body must hold \"receipts\": [\"p:offset.delivery\", ...]") }
        var out: [QueueReceipt] = []
        for item in list {
            guard let text = item.stringValue, let r = QueueReceipt(parsing: text) else { throw queueInvalid("a receipt reads p:offset.delivery") }
            out.append(r)
        }
        return out
    }

    static func queueCreation(_ request: HTTPRequest) -> Result<(QueueName, QueueSettings), Rejection> {
        guard let body = bodyObject(request) else { return .failure(queueInvalid("body must be a JSON object")) }
        do throws(Rejection) {
            guard let text = body["name"]?.stringValue else { throw queueInvalid("\"name\" is required") }
            let name = try queueText(text, QueueName.init)
            var s = QueueSettings()
            s.partitions = try count(body["partitions"], default: s.partitions, range: 1...QueueSettings.partitionCeiling, "partitions")
            s.visibilityTimeoutMillis = UInt64(try count(body["visibility_timeout_ms"], default: Int(s.visibilityTimeoutMillis), range: 1...43_200_000, "visibility_timeout_ms"))
            s.maxDeliveries = try count(body["max_deliveries"], default: s.maxDeliveries, range: 1...1_000, "max_deliveries")
            s.maxLength = try count(body["max_length"], default: s.maxLength, range: 1...(1 << 40), "max_length")
            s.maxBytes = try count(body["max_bytes"], default: s.maxBytes, range: 1...(1 << 50), "max_bytes")
            s.dedupWindowMillis = UInt64(try count(body["dedup_window_ms"], default: Int(s.dedupWindowMillis), range: 0...86_400_000, "dedup_window_ms"))
            s.maxMessageBytes = try count(body["max_message_bytes"], default: s.maxMessageBytes, range: 1...QueueSettings.messageBytesCeiling, "max_message_bytes")
            if let f = try optionalFlag(body["fifo_per_key"], "fifo_per_key") { s.fifoPerKey = f }
            if let dlq = try optionalText(body["dead_letter_queue"], "dead_letter_queue") { s.deadLetterQueue = try queueText(dlq, QueueName.init) }
            do { try s.validate() } catch { throw queueInvalid(error.message) }
            return .success((name, s))
        } catch {
            return .failure(error)
        }
    }

    // MARK: presenting

    static func presentQueue(_ reply: ClientReply) -> HTTPResponse {
        switch reply {
        case let .queueCatalogue(answer):
            switch answer {
            case let .created(info): return .json(201, queueJSON(info))
            case let .exists(info): return .json(200, queueJSON(info))
            case let .deleted(info): return .json(200, ["name": info.name.text, "deleted": true] as [String: Any])
            case let .conflict(info): return .error(409, code: "conflict", message: "queue \(info.name) exists with other settings")
            case let .notFound(name): return .error(404, code: "not_found", message: "no queue \(name)")
            case let .inUse(by): return .error(409, code: "in_use", message: "dead-letter queue of \(by.map(\.text).joined(separator: ", "))")
            case let .deadLetterQueueMissing(name): return .error(400, code: "dead_letter_queue_missing", message: "no queue \(name) to take dead letters")
            case let .full(limit): return .error(429, code: "too_many_queues", message: "the cluster holds its limit of \(limit) queues")
            case let .invalid(why): return .error(400, code: "invalid_request", message: why)
            }
        case let .queues(infos): return .jsonArray(200, infos.map(queueJSON))
        case let .queue(info): return .json(200, queueJSON(info))
        case let .queuePublished(outcomes):
            let refusals = outcomes.compactMap { o -> PublishRefusal? in if case let .refused(why) = o { return why }; return nil }
            if refusals.count == outcomes.count, let why = refusals.first, refusals.allSatisfy({ $0 == why }) {
                switch why {
                case .tooLarge: return .error(413, code: "message_too_large", message: "messages are limited by the queue's max_message_bytes")
                case .queueFull: return .error(429, code: "queue_full", message: "the queue holds its max_length messages")
                case .bytesFull: return .error(507, code: "queue_bytes_full", message: "the queue holds its max_bytes")
                }
            }
            let results: [[String: Any]] = outcomes.map { o in
                switch o {
                case let .stored(offset): return ["offset": offset]
                case let .duplicate(offset): return ["offset": offset, "duplicate": true]
                case let .refused(why): return ["error": why.description]
                }
            }
            return .json(200, ["results": results] as [String: Any])
        case let .queueDelivered(list):
            let messages: [[String: Any]] = list.map { d in
                var m: [String: Any] = ["receipt": d.receipt.description, "deliveries": Int(d.delivery.deliveries),
                                        "published_at_ms": d.delivery.publishedAtMillis, "lease_deadline_ms": d.delivery.leaseDeadlineMillis]
                if let text = String(validating: d.delivery.body, as: UTF8.self) { m["body"] = text } else { m["body_base64"] = Data(d.delivery.body).base64EncodedString() }
                if let k = d.delivery.key { m["key"] = k.text }
                if let id = d.delivery.producerID { m["id"] = id.text }
                if let origin = d.delivery.origin { m["origin"] = originJSON(origin) }
                return m
            }
            return .json(200, ["messages": messages] as [String: Any])
        case let .queueSettled(outcomes):
            let results: [String] = outcomes.map { o in
                switch o {
                case .acked: return "acked"
                case .extended: return "extended"
                case .requeued: return "requeued"
                case let .deadLettered(why): return "dead_lettered:\(why)"
                case .leaseLost: return "lease_lost"
                case .notFound: return "not_found"
                }
            }
            return .json(200, ["results": results] as [String: Any])
        case let .queueStatistics(s):
            return .json(200, statsJSON(s))
        case let .queueCount(n):
            return .json(200, ["count": n] as [String: Any])
        case let .queueDeadLetters(list):
            let letters: [[String: Any]] = list.map { d in
                let v = d.letter
                var m: [String: Any] = ["partition": Int(d.partition), "offset": v.origin.offset, "died_at_ms": v.diedAtMillis,
                                        "published_at_ms": v.publishedAtMillis, "origin": originJSON(v.origin)]
                if let text = String(validating: v.body, as: UTF8.self) { m["body"] = text } else { m["body_base64"] = Data(v.body).base64EncodedString() }
                if let k = v.key { m["key"] = k.text }
                if let id = v.producerID { m["id"] = id.text }
                if let earlier = v.earlierOrigin { m["earlier_origin"] = originJSON(earlier) }
                return m
            }
            return .json(200, ["dead_letters": letters] as [String: Any])
        case .queuePartitionReply, .queuePartitionStats, .queuePartitionDeadLetters:
            return .error(500, code: "internal", message: "a partition's answer reached the front door")
        default:
            return present(reply)
        }
    }

    /// Where a dead letter died, why, and its failed deliveries (oldest first).
    static func originJSON(_ o: DeadLetterOrigin) -> [String: Any] {
        ["queue": o.partition.queue.text, "partition": Int(o.partition.index), "offset": o.offset,
         "reason": o.reason.description, "deliveries": Int(o.deliveries),
         "failures": o.failures.map { f in
             ["delivery": Int(f.delivery), "kind": f.kind.description, "at_ms": f.atMillis, "consumer": f.consumer.text] as [String: Any]
         }]
    }

    static func queueJSON(_ info: QueueInfo) -> [String: Any] {
        let s = info.settings
        var out: [String: Any] = ["name": info.name.text, "partitions": s.partitions, "visibility_timeout_ms": s.visibilityTimeoutMillis,
                                  "max_deliveries": s.maxDeliveries, "max_length": s.maxLength, "max_bytes": s.maxBytes,
                                  "dedup_window_ms": s.dedupWindowMillis, "fifo_per_key": s.fifoPerKey, "max_message_bytes": s.maxMessageBytes,
                                  "incarnation": info.incarnation, "created_at_ms": info.createdAtMillis]
        if let dlq = s.deadLetterQueue { out["dead_letter_queue"] = dlq.text }
        return out
    }

    static func statsJSON(_ s: QueueStatistics) -> [String: Any] {
        var totals = ["ready": 0, "delayed": 0, "in_flight": 0, "dead_letters": 0, "bytes": 0]
        var counters = ["published": UInt64(0), "acked": 0, "redeliveries": 0, "dead_lettered": 0, "deliveries": 0, "duplicates": 0]
        var oldest: UInt64?
        for p in s.partitions.compactMap({ $0 }) {
            totals["ready", default: 0] += p.ready; totals["delayed", default: 0] += p.delayed; totals["in_flight", default: 0] += p.leased
            totals["dead_letters", default: 0] += p.deadLetters; totals["bytes", default: 0] += p.bytes
            counters["published", default: 0] += p.counters.published; counters["acked", default: 0] += p.counters.acked
            counters["redeliveries", default: 0] += p.counters.redeliveries; counters["dead_lettered", default: 0] += p.counters.deadLettered
            counters["deliveries", default: 0] += p.counters.deliveries; counters["duplicates", default: 0] += p.counters.duplicates
            if let o = p.oldestPublishedAtMillis { oldest = min(oldest ?? o, o) }
        }
        var out: [String: Any] = queueJSON(s.info)
        for (k, v) in totals { out[k] = v }
        for (k, v) in counters { out[k] = v }
        out["depth"] = (totals["ready"] ?? 0) + (totals["delayed"] ?? 0) + (totals["in_flight"] ?? 0)
        out["partitions_unanswered"] = s.partitions.count { $0 == nil }
        if let oldest { out["oldest_published_at_ms"] = oldest }
        return out
    }
}
