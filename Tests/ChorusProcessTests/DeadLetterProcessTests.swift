import ChorusRing
import ChorusRuntime
import Foundation
import Testing

/// Dead letters over HTTP on real agents: a rejected message shows up in the dead-letter
/// queue with its origin, a redrive brings it back, and the queue's latency histograms and
/// gauges are exported.
@Suite(.serialized) struct DeadLetterProcessTests {
    @Test func rejectedMessage_travelsToTheDeadLetterQueueAndBack() throws {
        let cluster = Cluster()
        defer { cluster.shutdown() }
        let first = try cluster.start("d1")
        let nodes = [first, try cluster.start("d2", seeds: [first.gossip])]
        #expect(waitUntil(timeout: 30) {
            guard let r = try? HTTPClient().request(nodes[1].api, path: "/v1/shards", timeout: .seconds(5)), r.status == 200,
                  let views = try? r.decodeJSON([ShardView].self) else { return false }
            return views.count == 64 && views.allSatisfy { $0.leader != nil }
        }, "shards did not settle:\n\(cluster.logs)")
        func call(_ api: String, _ method: HTTPMethod, _ path: String, _ body: String? = nil) -> (status: Int, json: [String: Any])? {
            QueueProcessTests.call(api, method, path, body)
        }
        #expect(call(nodes[0].api, .post, "/v1/queues", #"{"name":"graveyard","partitions":2}"#)?.status == 201)
        #expect(call(nodes[1].api, .post, "/v1/queues", #"{"name":"orders","partitions":4,"dead_letter_queue":"graveyard"}"#)?.status == 201)
        #expect(call(nodes[0].api, .post, "/v1/queues/orders/messages", #"{"messages":[{"body":"bad order","key":"o-1"}]}"#)?.status == 200)
        let fetched = call(nodes[1].api, .post, "/v1/queues/orders/fetch", #"{"max_messages":1,"wait_ms":2000}"#)
        let receipt = ((fetched?.json["messages"] as? [[String: Any]])?.first?["receipt"] as? String) ?? ""
        #expect(!receipt.isEmpty, "\(String(describing: fetched))")
        let nacked = call(nodes[0].api, .post, "/v1/queues/orders/nack", #"{"receipts":["\#(receipt)"],"dead_letter":true}"#)
        #expect((nacked?.json["results"] as? [String]) == ["dead_lettered:rejected"])

        var dead: [String: Any]?
        #expect(waitUntil(timeout: 10) {
            let r = call(nodes[1].api, .post, "/v1/queues/graveyard/fetch", #"{"max_messages":1,"wait_ms":1000,"visibility_ms":1}"#)
            dead = (r?.json["messages"] as? [[String: Any]])?.first
            return dead != nil
        })
        #expect(dead?["body"] as? String == "bad order")
        let origin = dead?["origin"] as? [String: Any]
        #expect(origin?["queue"] as? String == "orders")
        #expect(origin?["reason"] as? String == "rejected")
        // The partitions of "orders" no longer hold it.
        let listed = call(nodes[0].api, .get, "/v1/queues/orders/dead-letters")
        #expect((listed?.json["dead_letters"] as? [Any])?.isEmpty == true, "\(String(describing: listed))")
        // Its 1 ms lease in the dead-letter queue has run out: the redrive takes it back.
        var count = 0
        #expect(waitUntil(timeout: 10) {
            count += (call(nodes[1].api, .post, "/v1/queues/orders/redrive", "{}")?.json["count"] as? Int) ?? 0
            return count >= 1
        })
        let again = call(nodes[0].api, .post, "/v1/queues/orders/fetch", #"{"max_messages":1,"wait_ms":3000}"#)
        #expect(((again?.json["messages"] as? [[String: Any]])?.first?["body"] as? String) == "bad order")

        let metrics = try HTTPClient().request(nodes[0].api, path: "/metrics", timeout: .seconds(5)).bodyText ?? ""
        #expect(metrics.contains(#"chorus_queue_publish_seconds_bucket{le="0.001",queue="orders"}"#) ||
                metrics.contains(#"chorus_queue_publish_seconds_bucket{queue="orders",le="0.001"}"#), "\(metrics.prefix(2000))")
        #expect(metrics.contains("chorus_queue_fetch_seconds_count"))
    }
}
