// libFuzzer target: snapshot files (`SnapshotFile.decodeHeader`, `SnapshotFile.decode`).
import ChorusStorage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = SnapshotFile.decodeHeader(bytes)
    _ = SnapshotFile.decode(bytes)
    return 0
}
