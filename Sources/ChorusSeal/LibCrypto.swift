import CLibCrypto
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSL's libcrypto, loaded the first time a key is used (`dlopen`), not when the process
/// starts: an agent without a keyring never maps it (about 1.4 MiB of a node's resident
/// memory). The functions are the ones `AESGCM` and `GCMContext` call, looked up once; the
/// header (`CLibCrypto`) still gives their types and constants. Nothing cryptographic is done
/// here.
///
/// Invariant: `shared` is nil exactly when the library or one of its functions could not be
/// found; then nothing is sealed or opened, and `loadError` says why.
struct LibCrypto: Sendable {
    typealias NewContext = @convention(c) () -> OpaquePointer?
    typealias FreeContext = @convention(c) (OpaquePointer?) -> Void
    typealias Cipher = @convention(c) () -> OpaquePointer?
    typealias CipherInit = @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?, UnsafePointer<UInt8>?, UnsafePointer<UInt8>?) -> Int32
    typealias CipherUpdate = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int32>?, UnsafePointer<UInt8>?, Int32) -> Int32
    typealias CipherFinal = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias Control = @convention(c) (OpaquePointer?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias RandomBytes = @convention(c) (UnsafeMutablePointer<UInt8>?, Int32) -> Int32

    let newContext: NewContext
    let freeContext: FreeContext
    let aes256GCM: Cipher
    let encryptInit: CipherInit
    let decryptInit: CipherInit
    let encryptUpdate: CipherUpdate
    let decryptUpdate: CipherUpdate
    let encryptFinal: CipherFinal
    let decryptFinal: CipherFinal
    let control: Control
    let randomBytes: RandomBytes

    /// The names tried in order: OpenSSL 3's soname, then the development link.
    static let names = ["libcrypto.so.3", "libcrypto.so"]

    static let loaded: Result<LibCrypto, LibCryptoUnavailable> = load()
    static var shared: LibCrypto? { try? loaded.get() }
    static var loadError: String? {
        if case let .failure(e) = loaded { return e.reason }
        return nil
    }

    static func load() -> Result<LibCrypto, LibCryptoUnavailable> {
        guard let handle = names.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_LOCAL) }).first else {
            return .failure(LibCryptoUnavailable(reason: "cannot load OpenSSL's libcrypto (\(names.joined(separator: ", "))): "
                + (dlerror().map { String(cString: $0) } ?? "not found")))
        }
        func symbol<F>(_ name: String, as type: F.Type) throws(LibCryptoUnavailable) -> F {
            guard let address = dlsym(handle, name) else { throw LibCryptoUnavailable(reason: "libcrypto has no \(name)") }
            return unsafeBitCast(address, to: type)
        }
        do throws(LibCryptoUnavailable) {
            return .success(LibCrypto(
                newContext: try symbol("EVP_CIPHER_CTX_new", as: NewContext.self),
                freeContext: try symbol("EVP_CIPHER_CTX_free", as: FreeContext.self),
                aes256GCM: try symbol("EVP_aes_256_gcm", as: Cipher.self),
                encryptInit: try symbol("EVP_EncryptInit_ex", as: CipherInit.self),
                decryptInit: try symbol("EVP_DecryptInit_ex", as: CipherInit.self),
                encryptUpdate: try symbol("EVP_EncryptUpdate", as: CipherUpdate.self),
                decryptUpdate: try symbol("EVP_DecryptUpdate", as: CipherUpdate.self),
                encryptFinal: try symbol("EVP_EncryptFinal_ex", as: CipherFinal.self),
                decryptFinal: try symbol("EVP_DecryptFinal_ex", as: CipherFinal.self),
                control: try symbol("EVP_CIPHER_CTX_ctrl", as: Control.self),
                randomBytes: try symbol("RAND_bytes", as: RandomBytes.self)))
        } catch {
            return .failure(error)
        }
    }

    // The header's control codes, as the functions take them.
    static let setIVLength = Int32(EVP_CTRL_GCM_SET_IVLEN)
    static let getTag = Int32(EVP_CTRL_GCM_GET_TAG)
    static let setTag = Int32(EVP_CTRL_GCM_SET_TAG)
}

/// Why libcrypto could not be used.
struct LibCryptoUnavailable: Error, Sendable {
    let reason: String
}

/// Whether keys can be used in this process: libcrypto is opened on the first ask.
public enum SealLibrary {
    /// Why nothing can be sealed here (libcrypto or one of its functions is missing); nil
    /// when sealing works.
    public static var unavailableReason: String? { LibCrypto.loadError }
}
