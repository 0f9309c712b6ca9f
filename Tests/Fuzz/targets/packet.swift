// libFuzzer target: gossip packets (`PacketCodec.decode`), the bytes of any datagram or
// membership stream frame. A decode either throws or yields a packet that re-encodes.
import ChorusMembership

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let packet = try? PacketCodec.decode(bytes) { _ = PacketCodec.encode(packet) }
    return 0
}
