// libFuzzer target: a queue body log segment as recovery reads it back from disk
// (`BodyLogFrame.scan`), whole and through small windows; both reads must agree.
import ChorusQueue

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Half the inputs get a valid header, so the fuzzer reaches the records.
    if size > 0, data[0] & 1 == 1 { bytes = BodyLogFrame.header() + bytes.dropFirst() }
    let whole = BodyLogFrame.scan(bytes, maxBodyBytes: 1 << 16)
    let windowed = BodyLogFrame.scan(size: bytes.count, maxBodyBytes: 1 << 16, windowBytes: 1 + Int(data[0] >> 3)) { at, count in
        at >= bytes.count ? [] : Array(bytes[at..<min(bytes.count, at + count)])
    }
    if whole.records != windowed.records || whole.validBytes != windowed.validBytes { fatalError("windowed scan disagrees") }
    return 0
}
