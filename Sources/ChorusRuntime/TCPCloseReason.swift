import ChorusBase

/// Why a `TCPConnection` closed; handed to `onClose` exactly once.
/// Invariant: `isError` is false only for the two orderly endings (closed locally, or the
/// peer closed between frames); everything else lost or refused data.
public enum TCPCloseReason: Equatable, Sendable, CustomStringConvertible {
    /// `close()` or `closeWhenFlushed()` was called here.
    case closedLocally
    /// The peer closed the stream on a frame boundary.
    case closedByPeer
    /// The peer closed the stream in the middle of a frame: `received` bytes of it had
    /// arrived (header included) out of the `expected` total (nil when the 4-byte header
    /// itself was incomplete).
    case truncatedFrame(received: Int, expected: Int?)
    /// A frame header announced more than the limit; the connection was closed before
    /// buffering any of it.
    case oversizedFrame(length: Int, limit: Int)
    /// No bytes moved in either direction for this long.
    case idleTimeout(Interval)
    /// The connect did not complete in time.
    case connectTimeout(Interval)
    /// A socket call failed (refused, reset, unreachable, ...).
    case failed(SocketError)

    public var isError: Bool {
        switch self {
        case .closedLocally, .closedByPeer: return false
        default: return true
        }
    }

    public var description: String {
        switch self {
        case .closedLocally: return "closed locally"
        case .closedByPeer: return "closed by peer"
        case let .truncatedFrame(received, expected):
            let total = expected.map { " of \($0)" } ?? " of a 4-byte header"
            return "peer closed mid-frame after \(received) bytes\(total)"
        case let .oversizedFrame(length, limit): return "frame of \(length) bytes exceeds limit of \(limit) bytes"
        case let .idleTimeout(after): return "idle for \(after)"
        case let .connectTimeout(after): return "connect timed out after \(after)"
        case let .failed(error): return error.description
        }
    }
}

/// Why `TCPConnection.send` refused a frame. Invariant: a refused frame was not queued at all.
public enum TCPSendError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connection is closed or closing.
    case closed
    /// The payload exceeds the connection's `maxFrameBytes`.
    case frameTooLarge(size: Int, limit: Int)
    /// Queued output plus this frame would exceed `maxOutgoingBytes`: the peer is not reading
    /// fast enough.
    case outgoingBufferFull(queued: Int, limit: Int)

    public var description: String {
        switch self {
        case .closed: return "connection is closed"
        case let .frameTooLarge(size, limit): return "frame of \(size) bytes exceeds limit of \(limit) bytes"
        case let .outgoingBufferFull(queued, limit): return "outgoing buffer full (\(queued) of \(limit) bytes queued)"
        }
    }
}
