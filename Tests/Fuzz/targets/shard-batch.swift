// libFuzzer target: shard batches (`ShardBatchCodec.decode`), Raft traffic on peer streams.
import ChorusShards

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? ShardBatchCodec.decode(bytes)
    return 0
}
