// libFuzzer target: HTTP requests (`HTTPRequestParser`), the API's input. The bytes are fed
// whole and then split in two at a position taken from the first byte.
@testable import ChorusRuntime

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var whole = HTTPRequestParser(settings: HTTPServerSettings())
    _ = whole.parse(bytes[...])
    if let first = bytes.first, bytes.count > 1 {
        let cut = Int(first) % bytes.count
        var split = HTTPRequestParser(settings: HTTPServerSettings())
        _ = split.parse(bytes[..<cut])
        _ = split.parse(bytes[...])
    }
    return 0
}
