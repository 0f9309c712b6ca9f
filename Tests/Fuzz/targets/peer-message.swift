// libFuzzer target: peer RPC messages (`PeerMessageCodec.decode`), frames from peer streams.
import ChorusNode

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let m = try? PeerMessageCodec.decode(bytes) { _ = PeerMessageCodec.encode(m) }
    return 0
}
