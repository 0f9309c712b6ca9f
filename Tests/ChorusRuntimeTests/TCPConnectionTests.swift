import ChorusBase
import ChorusWire
import Glibc
import Testing
@testable import ChorusRuntime

@Suite struct TCPConnectionTests {
    static let loopbackAnyPort = Endpoint(ip: .loopbackV4, port: 0)

    /// Starts a listener on the loop that records frames and close reasons of accepted
    /// connections; returns its endpoint.
    func startRecordingListener(_ loop: EventLoop, settings: TCPSettings = TCPSettings(), echo: Bool = false,
                                frames: Recorder<[UInt8]>, closes: Recorder<TCPCloseReason>,
                                at endpoint: Endpoint = loopbackAnyPort) throws -> Endpoint {
        let bound = onLoop(loop) { () -> Endpoint? in
            guard let listener = try? TCPListener(bind: endpoint) else { return nil }
            listener.start(on: loop, settings: settings) { connection in
                connection.onFrame = { payload in
                    frames.append(payload)
                    if echo { try? connection.send(payload) }
                }
                connection.onClose = { closes.append($0) }
            }
            return listener.localEndpoint
        }
        return try #require(bound ?? nil)
    }

    @Test(arguments: [Endpoint(ip: .loopbackV4, port: 0), Endpoint(ip: .loopbackV6, port: 0)])
    func twoConnections_exchangeFramesInOrder(listenOn endpoint: Endpoint) throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let serverFrames = Recorder<[UInt8]>(), serverCloses = Recorder<TCPCloseReason>()
        let server = try startRecordingListener(loop, echo: true, frames: serverFrames, closes: serverCloses, at: endpoint)
        let clientFrames = Recorder<[UInt8]>(), clientEvents = Recorder<String>()
        let big = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        _ = onLoop(loop) { () -> Bool in
            let client = TCPConnection.connect(to: server, on: loop)
            client.onConnect = { clientEvents.append("connected") }
            client.onFrame = { payload in
                clientFrames.append(payload)
                if clientFrames.count == 4 { client.close() }
            }
            client.onClose = { clientEvents.append("closed: \($0)") }
            // Queued before the connect completes; delivered after.
            for payload in [[1], [2, 2], [], big] { try? client.send(payload) }
            return true
        }
        #expect(eventually(timeout: 5) { clientEvents.count == 2 && serverCloses.count == 1 })
        #expect(clientFrames.all == [[1], [2, 2], [], big])
        #expect(serverFrames.all == [[1], [2, 2], [], big])
        #expect(clientEvents.all == ["connected", "closed: closed locally"])
        #expect(serverCloses.all == [.closedByPeer])
    }

    /// Several frames sent in one write arrive as the same frames, in order; a batch with
    /// one frame over the limit is refused whole.
    @Test func framesSentTogether_arriveOneByOne_andAnOversizedBatchIsRefusedWhole() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let serverFrames = Recorder<[UInt8]>(), serverCloses = Recorder<TCPCloseReason>()
        let server = try startRecordingListener(loop, frames: serverFrames, closes: serverCloses)
        let refusals = Recorder<String>()
        _ = onLoop(loop) { () -> Bool in
            var settings = TCPSettings()
            settings.maxFrameBytes = 1_000
            let client = TCPConnection.connect(to: server, on: loop, settings: settings)
            do { try client.send(frames: [[9], Array(repeating: 1, count: 1_001)]) } catch { refusals.append("\(error)") }
            try? client.send(frames: [[1], [], [3, 3, 3]])
            try? client.send([4])
            return true
        }
        #expect(eventually(timeout: 5) { serverFrames.count == 4 })
        #expect(serverFrames.all == [[1], [], [3, 3, 3], [4]])
        #expect(refusals.count == 1)
    }

    @Test func peerClosingMidFrame_isReportedAsTruncatedFrame() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let frames = Recorder<[UInt8]>(), closes = Recorder<TCPCloseReason>()
        let server = try startRecordingListener(loop, frames: frames, closes: closes)
        let raw = try #require(RawTCPClient(connectTo: server))
        raw.write(Frame.encode([7, 7]) + [0, 0, 0, 10, 1, 2, 3])  // one whole frame, then 3 of 10 bytes
        raw.shutdownWrite()
        #expect(eventually { closes.count == 1 })
        #expect(frames.all == [[7, 7]])
        #expect(closes.all == [.truncatedFrame(received: 7, expected: 14)])
        #expect(closes.all.first?.isError == true)
    }

    @Test func peerClosingInsideTheHeader_isReportedAsTruncatedFrame() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let frames = Recorder<[UInt8]>(), closes = Recorder<TCPCloseReason>()
        let server = try startRecordingListener(loop, frames: frames, closes: closes)
        let raw = try #require(RawTCPClient(connectTo: server))
        raw.write([0, 0])
        raw.shutdownWrite()
        #expect(eventually { closes.count == 1 })
        #expect(closes.all == [.truncatedFrame(received: 2, expected: nil)])
    }

    @Test func oversizedLengthHeader_isRefusedAndTheConnectionClosed() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        var settings = TCPSettings()
        settings.maxFrameBytes = 1_024
        settings.maxOutgoingBytes = 4_096
        let frames = Recorder<[UInt8]>(), closes = Recorder<TCPCloseReason>()
        let server = try startRecordingListener(loop, settings: settings, frames: frames, closes: closes)
        let raw = try #require(RawTCPClient(connectTo: server))
        raw.write([0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])
        #expect(raw.peerClosed())
        #expect(eventually { closes.count == 1 })
        #expect(closes.all == [.oversizedFrame(length: 0xFFFF_FFFF, limit: 1_024)])
        #expect(frames.count == 0)
    }

    @Test func connect_toAClosedPort_reportsConnectionRefused() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        // Bind then close a listener to find a port nobody listens on.
        let port = try TCPListener(bind: Self.loopbackAnyPort).localEndpoint
        let closes = Recorder<TCPCloseReason>()
        _ = onLoop(loop) { () -> Bool in
            let c = TCPConnection.connect(to: port, on: loop)
            c.onClose = { closes.append($0) }
            return true
        }
        #expect(eventually { closes.count == 1 })
        #expect(closes.all == [.failed(.connectionRefused(port))])
        #expect(closes.all.first?.description == "connection refused by \(port)")
    }

    @Test func idleConnection_isClosedAfterTheIdleTimeout() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        var settings = TCPSettings()
        settings.idleTimeout = .milliseconds(100)
        let frames = Recorder<[UInt8]>(), closes = Recorder<TCPCloseReason>()
        let server = try startRecordingListener(loop, settings: settings, frames: frames, closes: closes)
        let raw = try #require(RawTCPClient(connectTo: server))
        usleep(50_000)
        raw.write(Frame.encode([1]))  // activity postpones the deadline
        #expect(raw.peerClosed())
        #expect(eventually { closes.count == 1 })
        #expect(closes.all == [.idleTimeout(.milliseconds(100))])
        #expect(frames.all == [[1]])
    }

    @Test func send_largerThanMaxFrame_isRefused() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        var settings = TCPSettings()
        settings.maxFrameBytes = 10
        settings.maxOutgoingBytes = 100
        let result = onLoop(loop) { [settings] () -> TCPSendError? in
            let c = TCPConnection.connect(to: Endpoint(ip: .loopbackV4, port: 9), on: loop, settings: settings)
            defer { c.close() }
            do throws(TCPSendError) { try c.send([UInt8](repeating: 0, count: 11)); return nil } catch { return error }
        }
        #expect(result == .frameTooLarge(size: 11, limit: 10))
    }

    @Test func peerThatDoesNotRead_fillsTheOutgoingBufferAndSendIsRefused() throws {
        let loop = try startedLoop()
        defer { loop.stop() }
        let listener = try TCPListener(bind: Self.loopbackAnyPort)  // never accepts: nobody reads
        let target = listener.localEndpoint
        var settings = TCPSettings()
        settings.maxFrameBytes = 64 * 1024
        settings.maxOutgoingBytes = 256 * 1024
        let outcome = Recorder<String>()
        _ = onLoop(loop) { [settings] () -> Bool in
            let c = TCPConnection.connect(to: target, on: loop, settings: settings)
            c.onConnect = {
                let chunk = [UInt8](repeating: 1, count: 60 * 1024)
                for _ in 0..<10_000 {
                    do { try c.send(chunk) } catch {
                        outcome.append("\(error)")
                        c.close()
                        return
                    }
                }
                outcome.append("never filled")
            }
            return true
        }
        #expect(eventually { outcome.count == 1 })
        #expect(outcome.all.first?.hasPrefix("outgoing buffer full") == true)
    }
}
