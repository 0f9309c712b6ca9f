import ChorusBase
import ChorusMembership
import Foundation
import Testing
@testable import ChorusRuntime

/// What an agent refuses to start with, and what it keeps across restarts.
@Suite struct AgentStartupTests {

    @Test func portInUse_refusesToStart_namingTheAddress() throws {
        let taken = try UDPSocket(bind: Endpoint(ip: .loopbackV4, port: 0))
        let settings = AgentSettings(name: "n1", bind: taken.localEndpoint, api: Endpoint(ip: .loopbackV4, port: 0))
        do {
            _ = try Agent(settings: settings, log: Log(level: .error, sink: { _ in }))
            Issue.record("agent started on a port in use")
        } catch {
            #expect(error.description.contains("already in use"))
            #expect(error.description.contains(taken.localEndpoint.description))
        }

        let api = try TCPListener(bind: Endpoint(ip: .loopbackV4, port: 0))
        let second = AgentSettings(name: "n1", bind: Endpoint(ip: .loopbackV4, port: 0), api: api.localEndpoint)
        do {
            _ = try Agent(settings: second, log: Log(level: .error, sink: { _ in }))
            Issue.record("agent started on an API port in use")
        } catch {
            #expect(error.description.contains("HTTP API"))
        }
    }

    @Test func unusableDataDirectory_refusesToStart() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.path + "/plain-file"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        for path in [file, file + "/below"] {
            let settings = AgentSettings(name: "n1", bind: Endpoint(ip: .loopbackV4, port: 0),
                                         api: Endpoint(ip: .loopbackV4, port: 0), dataDirectory: path)
            do {
                _ = try Agent(settings: settings, log: Log(level: .error, sink: { _ in }))
                Issue.record("agent started with data dir \(path)")
            } catch {
                #expect(error.description.contains("data directory \(path)"))
            }
        }
    }

    @Test func invalidSettings_refuseToStart_namingTheSetting() {
        var settings = AgentSettings(name: "n1", bind: Endpoint(ip: .loopbackV4, port: 0), api: Endpoint(ip: .loopbackV4, port: 0))
        settings.membership.probeInterval = .zero
        #expect(throws: AgentStartError.self) { try settings.validate() }
        settings = AgentSettings(name: "", bind: Endpoint(ip: .loopbackV4, port: 0), api: Endpoint(ip: .loopbackV4, port: 0))
        #expect(throws: AgentStartError.self) { try settings.validate() }
    }

    @Test func incarnation_isPersisted_andRaisedOnEveryStart() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let state = try NodeStateFile(directory: dir.path + "/node-a")
        for expected: Incarnation in [0, 1, 2] {
            let node = try TestAgent(name: "a", dataDirectory: state.directory)
            #expect(node.members().first?.incarnation == expected)
            node.stop()
            #expect(try state.load() == .init(name: "a", incarnation: expected))
        }
        // Another name in the same directory starts afresh.
        let other = try TestAgent(name: "b", dataDirectory: state.directory)
        #expect(other.members().first?.incarnation == 0)
        other.stop()
    }
}
