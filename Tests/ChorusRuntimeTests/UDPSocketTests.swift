import ChorusBase
import Glibc
import Testing
@testable import ChorusRuntime

@Suite struct UDPSocketTests {
    static let anyPortV4 = Endpoint(ip: .loopbackV4, port: 0)
    static let anyPortV6 = Endpoint(ip: .loopbackV6, port: 0)

    /// Polls a socket until a datagram (or error) arrives.
    func receiveSoon(_ socket: UDPSocket) throws -> (bytes: [UInt8], from: Endpoint)? {
        for _ in 0..<500 {
            if let d = try socket.receive() { return d }
            usleep(1_000)
        }
        return nil
    }

    @Test func bindToPortZero_reportsTheAssignedPort() throws {
        let socket = try UDPSocket(bind: Self.anyPortV4)
        #expect(socket.localEndpoint.port != 0)
        #expect(socket.localEndpoint.ip == .loopbackV4)
    }

    @Test(arguments: [anyPortV4, anyPortV6])
    func datagram_sentBetweenTwoSockets_arrivesWithSenderAddress(bindTo endpoint: Endpoint) throws {
        let a = try UDPSocket(bind: endpoint)
        let b = try UDPSocket(bind: endpoint)
        try a.send([1, 2, 3], to: b.localEndpoint)
        let got = try #require(try receiveSoon(b))
        #expect(got.bytes == [1, 2, 3])
        #expect(got.from == a.localEndpoint)
    }

    @Test func receive_withNothingWaiting_returnsNil() throws {
        let socket = try UDPSocket(bind: Self.anyPortV4)
        #expect(try socket.receive() == nil)
    }

    @Test func bind_toAPortInUse_failsNamingTheAddress() throws {
        let first = try UDPSocket(bind: Self.anyPortV4)
        #expect {
            _ = try UDPSocket(bind: first.localEndpoint)
        } throws: { error in
            guard let e = error as? SocketError else { return false }
            return e == .addressInUse(first.localEndpoint)
                && e.description == "address \(first.localEndpoint) already in use"
        }
    }

    @Test func oversizedDatagram_isReportedAsError_andTheNextOneStillArrives() throws {
        let receiver = try UDPSocket(bind: Self.anyPortV4, maxDatagramBytes: 1_400)
        let sender = try UDPSocket(bind: Self.anyPortV4)
        try sender.send([UInt8](repeating: 9, count: 3_000), to: receiver.localEndpoint)
        try sender.send([42], to: receiver.localEndpoint)
        var oversized: SocketError?
        var normal: [UInt8]?
        for _ in 0..<500 where normal == nil {
            do {
                if let d = try receiver.receive() { normal = d.bytes } else { usleep(1_000) }
            } catch {
                oversized = error
            }
        }
        #expect(oversized == .datagramTooLarge(size: 3_000, limit: 1_400, from: sender.localEndpoint))
        #expect(normal == [42])
    }

    @Test func send_largerThanTheLimit_isRefusedWithoutSending() throws {
        let socket = try UDPSocket(bind: Self.anyPortV4, maxDatagramBytes: 100)
        #expect(throws: SocketError.messageTooLarge(size: 101, limit: 100)) {
            try socket.send([UInt8](repeating: 0, count: 101), to: socket.localEndpoint)
        }
    }

    @Test func send_fromIPv4SocketToIPv6Peer_reportsFamilyMismatch() throws {
        let socket = try UDPSocket(bind: Self.anyPortV4)
        let peer = Endpoint(ip: .loopbackV6, port: 9)
        #expect(throws: SocketError.familyMismatch(local: socket.localEndpoint, remote: peer)) {
            try socket.send([1], to: peer)
        }
    }

    @Test func send_afterClose_reportsClosed() throws {
        let socket = try UDPSocket(bind: Self.anyPortV4)
        socket.close()
        #expect(throws: SocketError.closed) { try socket.send([1], to: Endpoint(ip: .loopbackV4, port: 9)) }
    }

    @Test func socketRegisteredWithLoop_deliversDatagramsThroughTheHandler() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let got = Recorder<[UInt8]>()
        let port = onLoop(loop) { () -> UInt16 in
            guard let socket = try? UDPSocket(bind: Self.anyPortV4) else { return 0 }
            loop.register(fd: socket.fd, events: .readable) { _ in
                while let d = try? socket.receive() { got.append(d.bytes) }
            }
            return socket.localEndpoint.port
        }
        let target = Endpoint(ip: .loopbackV4, port: try #require(port))
        let sender = try UDPSocket(bind: Self.anyPortV4)
        for i in 0..<5 { try sender.send([UInt8(i)], to: target) }
        #expect(eventually { got.count == 5 })
        #expect(got.all == [[0], [1], [2], [3], [4]])
    }
}
