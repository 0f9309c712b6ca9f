import ChorusBase
import ChorusMembership
import Foundation
@testable import ChorusRuntime

/// An in-process agent on loopback with kernel-chosen ports, running on its own loop thread,
/// with its log lines recorded for the test to read. Call `stop()` at the end (or `defer`).
final class TestAgent: @unchecked Sendable {
    let agent: Agent
    let lines = Recorder<String>()

    init(name: String, seeds: [String] = [], cluster: String = "chorus", ip: IPAddress = .loopbackV4,
         dataDirectory: String? = nil, configure: (inout AgentSettings) -> Void = { _ in }) throws {
        var settings = AgentSettings(name: name, bind: Endpoint(ip: ip, port: 0), api: Endpoint(ip: ip, port: 0),
                                     seeds: seeds, clusterName: cluster, dataDirectory: dataDirectory)
        configure(&settings)
        let lines = self.lines
        agent = try Agent(settings: settings, log: Log(level: .debug, sink: { lines.append($0) }))
        try agent.start()
    }

    var gossip: Endpoint { agent.gossipEndpoint }
    var api: String { agent.apiEndpoint.description }

    /// Stops the loop if it still runs and closes every socket (also after a leave).
    func stop() { agent.stop() }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil) throws -> HTTPClientResponse {
        try HTTPClient().request(method: method, api, path: path, body: body.map { Array($0.utf8) })
    }

    func request(_ path: String) throws -> HTTPClientResponse { try request(.get, path) }

    func members() -> [MemberView] {
        (try? request("/v1/members").decodeJSON([MemberView].self)) ?? []
    }

    func status(of name: String) -> String? { members().first { $0.name == name }?.status }

    /// The value of one series in `/metrics`, e.g. `chorus_packets_dropped_total{reason="oversized"}`.
    func metric(_ series: String) -> Double? {
        guard let text = try? request("/metrics").bodyText else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    func logged(_ fragment: String) -> Bool { lines.all.contains { $0.contains(fragment) } }
}

/// A temporary directory removed by `remove()`.
struct TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "chorus-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
