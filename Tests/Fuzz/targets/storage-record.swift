// libFuzzer target: storage records and segment headers (`RecordFrame.decode`,
// `SegmentHeader.decode`), what recovery reads back from disk.
import ChorusStorage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = RecordFrame.decode(bytes, at: 0, maxRecordBytes: 1 << 20)
    _ = SegmentHeader.decode(bytes)
    return 0
}
