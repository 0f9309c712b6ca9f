// libFuzzer target: data-directory archives of `chorus snapshot` (`DataDirectoryArchive.decode`).
import ChorusStorage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if case let .success(contents) = DataDirectoryArchive.decode(bytes) {
        _ = DataDirectoryArchive.encodeHead(contents.manifest)
    }
    return 0
}
