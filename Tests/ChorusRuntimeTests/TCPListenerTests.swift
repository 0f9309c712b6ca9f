import ChorusBase
import Testing
@testable import ChorusRuntime

@Suite struct TCPListenerTests {
    @Test(arguments: [Endpoint(ip: .loopbackV4, port: 0), Endpoint(ip: .loopbackV6, port: 0)])
    func listener_bindsTheSamePortNumberAsAUDPSocket(_ any: Endpoint) throws {
        // Another test may take the TCP side of the free UDP port first (tests run in
        // parallel): try a few ports, as the agent's own bind does.
        var bound = false
        var attempts = 0
        while !bound && attempts < 8 {
            attempts += 1
            let udp = try UDPSocket(bind: any)
            if let tcp = try? TCPListener(bind: udp.localEndpoint) {
                #expect(tcp.localEndpoint == udp.localEndpoint)
                tcp.close()
                bound = true
            }
            udp.close()
        }
        #expect(bound, "no free port pair in 8 attempts")
    }

    @Test func secondListenerOnALivePort_failsNamingTheAddress() throws {
        let first = try TCPListener(bind: Endpoint(ip: .loopbackV4, port: 0))
        #expect(throws: SocketError.addressInUse(first.localEndpoint)) {
            _ = try TCPListener(bind: first.localEndpoint)
        }
    }

    @Test func accept_withNobodyConnecting_returnsNil() throws {
        let listener = try TCPListener(bind: Endpoint(ip: .loopbackV4, port: 0))
        #expect(try listener.accept() == nil)
    }

    @Test func manyClients_areAllAccepted() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let peers = Recorder<Endpoint>()
        let bound = onLoop(loop) { () -> Endpoint? in
            guard let listener = try? TCPListener(bind: Endpoint(ip: .loopbackV4, port: 0)) else { return nil }
            listener.start(on: loop) { connection in
                peers.append(connection.peer)
                connection.onClose = { _ in _ = listener }  // keeps the listener alive with the test
            }
            return listener.localEndpoint
        }
        let target = try #require(bound ?? nil)
        let clients = (0..<20).compactMap { _ in RawTCPClient(connectTo: target) }
        #expect(clients.count == 20)
        #expect(eventually { peers.count == 20 })
        #expect(Set(peers.all).count == 20)
    }

    @Test func closedListener_refusesNewConnections() throws {
        let listener = try TCPListener(bind: Endpoint(ip: .loopbackV4, port: 0))
        let target = listener.localEndpoint
        listener.close()
        #expect(RawTCPClient(connectTo: target) == nil)
        #expect(throws: SocketError.closed) { _ = try listener.accept() }
    }
}
