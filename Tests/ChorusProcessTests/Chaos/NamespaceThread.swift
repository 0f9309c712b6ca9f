import Foundation
import Glibc

/// Runs work on a thread of its own that has entered a named network namespace
/// (`/var/run/netns/<name>`, as `ip netns add` makes it), so the sockets it opens — the
/// blocking `HTTPClient` opens them on the calling thread — live in that namespace. Linux keeps
/// the network namespace per thread; the test process's other threads stay where they were.
///
/// Invariant: `body` runs only after `setns` succeeded; when it fails, `body` is not run and
/// `start`/`run` report the error instead.
enum NamespaceThread {
    struct EnterFailed: Error, CustomStringConvertible {
        let namespace: String
        let errno: Int32
        var description: String { "cannot enter network namespace \(namespace): \(String(cString: strerror(errno)))" }
    }

    private typealias SetNS = @convention(c) (Int32, Int32) -> Int32
    /// glibc's setns(2), looked up at run time (Glibc's module map hides _GNU_SOURCE functions).
    private static let setns: SetNS? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return nil }
        return unsafeBitCast(symbol, to: SetNS.self)
    }()
    private static let cloneNewNet: Int32 = 0x4000_0000

    /// Moves the calling thread into `namespace`.
    static func enter(_ namespace: String) throws {
        let fd = open("/var/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EnterFailed(namespace: namespace, errno: errno) }
        defer { close(fd) }
        guard let setns else { throw EnterFailed(namespace: namespace, errno: ENOSYS) }
        guard setns(fd, cloneNewNet) == 0 else { throw EnterFailed(namespace: namespace, errno: errno) }
    }

    /// Starts `body` on a new thread inside `namespace`; `done` is called on that thread when
    /// it returns (or with the error when the thread could not enter the namespace).
    static func start(in namespace: String, _ body: @escaping @Sendable () -> Void,
                      done: @escaping @Sendable (Error?) -> Void = { _ in }) {
        let thread = Thread {
            do { try enter(namespace) } catch {
                done(error)
                return
            }
            body()
            done(nil)
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `body` inside `namespace` and waits for its result.
    static func run<T: Sendable>(in namespace: String, _ body: @escaping @Sendable () -> T) throws -> T {
        let box = ResultBox<T>()
        let finished = DispatchSemaphore(value: 0)
        start(in: namespace, { box.set(.success(body())) }, done: { error in
            if let error { box.set(.failure(error)) }
            finished.signal()
        })
        finished.wait()
        return try box.get()
    }

    private final class ResultBox<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<T, Error>?
        func set(_ r: Result<T, Error>) { lock.lock(); result = r; lock.unlock() }
        func get() throws -> T {
            lock.lock(); defer { lock.unlock() }
            guard let result else { throw CancellationError() }
            return try result.get()
        }
    }
}
