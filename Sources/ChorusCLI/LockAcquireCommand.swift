import Foundation
import Synchronization
import ChorusBase
import ChorusLocks
import ChorusRuntime

/// `chorus lock acquire`: takes a lock for as long as this process holds it (like
/// `etcdctl lock` and `flock(1)`): opens a session, keeps it alive, waits for the grant, then
/// holds the lock until SIGINT/SIGTERM/SIGHUP, or runs a command under it (everything after
/// `--`, etcdctl's form, or after `--exec`).
///
/// Invariant: the process never reports the lock held (prints the token, runs the command)
/// before the agent granted it, and stops claiming it (exits non-zero, kills the command)
/// as soon as the session may be lost (`LockSession`'s local-lease rule).
enum LockAcquireCommand {
    static let spec = CommandSpec(
        name: "lock acquire",
        summary: "Acquire a lock and hold it until interrupted, or while a command runs.",
        usage: "chorus lock acquire NAME [--shared] [--wait DUR] [--ttl DUR] [--json] [--api HOST:PORT] [-- CMD ARGS...]",
        options: [
            .init("--shared", help: "Take the lock shared (readers) instead of exclusive."),
            .init("--wait", value: "DUR", help: "Give up if not granted within DUR (250ms, 2s, 1m; 0 = try once).", default: "forever"),
            .init("--ttl", value: "DUR", help: "Session TTL: how long the lock outlives this process if it dies.", default: "10s"),
            .init("--json", help: "Print {\"name\",\"mode\",\"token\",\"session\"} instead of the bare token (not with a command)."),
            .init("--exec", help: "Run CMD ARGS... (everything after --exec, the same as after --) under the lock; exit with its status."),
            AgentClient.apiOption, AgentClient.tokenOption,
        ],
        details: """
        Without a command: prints the fencing token, holds the lock until SIGINT, SIGTERM or SIGHUP,
        then releases it, closes the session and exits 0.
        With a command (chorus lock acquire deploy -- ./deploy.sh --env prod): runs it with
        CHORUS_LOCK_NAME, CHORUS_LOCK_TOKEN and CHORUS_LOCK_SESSION in its environment (signals
        received are passed on to it), releases the lock when it exits and exits with its status.
        The command may release the lock early with 'chorus lock release "$CHORUS_LOCK_NAME"'.
        A keep-alive goes every TTL/3. If none is acknowledged for a whole TTL, or the agent
        says the session expired, the lock may already belong to someone else: the command is
        killed (SIGKILL) and chorus exits 1. Pass the token to whatever the lock guards, so
        that it can refuse a holder that lost the lock without knowing.
        Failures (timeout, deadlock, expired session, unreachable agent) exit 1.
        """)

    /// What to acquire and how, from the command line.
    struct Request: Equatable {
        var name: String
        var mode: LockMode = .exclusive
        /// Nil: wait as long as it takes.
        var wait: Interval?
        var ttl: Interval = .seconds(10)
        var json = false
        /// Empty: hold until a signal.
        var command: [String] = []
    }

    /// Parses the arguments; nil when help was asked for. Everything after the first `--` or
    /// `--exec` is the command, so its own options are not read as ours.
    static func parse(_ args: [String]) throws(UsageError) -> (Request, ParsedArguments)? {
        var own = args
        var command: [String] = []
        var separator: String?
        if let i = args.firstIndex(where: { $0 == "--exec" || $0 == "--" }) {
            own = Array(args[..<i])
            command = Array(args[(i + 1)...])
            separator = args[i]
        }
        let p = try spec.parse(own)
        if p.wantsHelp { return nil }
        guard let name = p.positionals.first else { throw UsageError("chorus lock acquire needs a lock NAME") }
        guard p.positionals.count == 1 else {
            throw UsageError("chorus lock acquire takes one NAME, got also \"\(p.positionals[1])\" (a command goes after --)")
        }
        do { _ = try LockName(name) } catch { throw UsageError(error.description) }
        if let separator, command.isEmpty { throw UsageError("\(separator) needs a command to run") }
        var r = Request(name: name, command: command)
        if p.flag("--shared") { r.mode = .shared }
        r.json = p.flag("--json")
        if r.json && separator != nil { throw UsageError("--json and a command do not go together (the command's output is the output)") }
        if let text = p.string("--wait") { r.wait = try duration("--wait", text) }
        if let text = p.string("--ttl") {
            r.ttl = try duration("--ttl", text)
            guard r.ttl >= .milliseconds(1) else { throw UsageError("--ttl must be at least 1ms, got \"\(text)\"") }
        }
        return (r, p)
    }

    /// A duration option in `Interval(parsing:)`'s syntax, in whole milliseconds (the API's unit).
    static func duration(_ option: String, _ text: String) throws(UsageError) -> Interval {
        guard let d = Interval(parsing: text) else {
            throw UsageError("\(option) expects a duration such as 500ms, 2s or 1m, got \"\(text)\"")
        }
        return .milliseconds(d.nanoseconds / 1_000_000)
    }

    /// What a held lock prints: the token, or the JSON object.
    static func grantLine(_ grant: LockGrant, session: String, json: Bool) -> String {
        guard json else { return String(grant.token) }
        let object: [String: Any] = ["name": grant.name, "mode": grant.mode, "token": grant.token, "session": session]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func run(_ args: [String]) throws -> Int32 {
        guard let (request, p) = try parse(args) else { print(spec.helpText); return 0 }
        let api = LockAPI(client: AgentClient(p))
        let bell = try Doorbell()
        let session = try LockSession.open(api, ttl: request.ttl, onLost: { bell.ring() })
        // Before any thread starts, so that every thread leaves these signals to the pipe. (An
        // interrupt during the open kills the process; the session, holding nothing, expires.)
        let signals: SignalPipe
        do { signals = try SignalPipe.install(signals: [SIGINT, SIGTERM, SIGHUP, SIGCHLD]) } catch {
            session.close(timeout: .seconds(1))
            throw CommandFailure(error.description)
        }
        session.startKeepAlive()
        let supervisor = Supervisor(request: request, api: api, session: session, bell: bell, signals: signals.readEnd)
        let grant = try supervisor.awaitGrant()
        if request.command.isEmpty { return try supervisor.hold(grant) }
        return try supervisor.execute(grant)
    }

    /// The main thread's side: waits on signals, the acquire worker and the session, and
    /// decides what happens next.
    struct Supervisor {
        let request: Request
        let api: LockAPI
        let session: LockSession
        let bell: Doorbell
        let signals: Int32
        static let terminating: Set<Int32> = [SIGINT, SIGTERM, SIGHUP]

        func awaitGrant() throws(CommandFailure) -> LockGrant {
            let waiter = AcquireWaiter(request: request, api: api, session: session.id, bell: bell)
            waiter.start()
            while true {
                let arrived = bell.wait(signalPipe: signals, timeout: .milliseconds(250))
                if let s = arrived.first(where: Supervisor.terminating.contains) {
                    waiter.abandon()
                    session.close()
                    throw CommandFailure("lock \(request.name): \(Doorbell.name(of: s)) before the lock was granted; gave up")
                }
                if let reason = session.lostReason() {
                    waiter.abandon()
                    session.close(timeout: .seconds(1))
                    throw CommandFailure("lock \(request.name): session \(session.id) lost while waiting: \(reason)")
                }
                switch waiter.outcome {
                case nil: continue
                case let .granted(grant)?: return grant
                case let .failed(message)?:
                    session.close()
                    throw CommandFailure("lock \(request.name): \(message)")
                }
            }
        }

        /// Holds the lock until a terminating signal (exit 0 after releasing) or the session
        /// may be lost (exit 1).
        func hold(_ grant: LockGrant) throws(CommandFailure) -> Int32 {
            // Unbuffered: whoever reads the token through a pipe gets it now, not at exit.
            FileHandle.standardOutput.write(Data((LockAcquireCommand.grantLine(grant, session: session.id, json: request.json) + "\n").utf8))
            if isatty(2) != 0 {
                FileHandle.standardError.write(Data("holding \(grant.name) (\(grant.mode)) in session \(session.id); Ctrl-C releases it\n".utf8))
            }
            while true {
                let arrived = bell.wait(signalPipe: signals, timeout: .milliseconds(250))
                if arrived.contains(where: Supervisor.terminating.contains) { return try releaseAndClose() }
                if let reason = session.lostReason() {
                    session.close(timeout: .seconds(1))
                    throw CommandFailure("lock \(request.name) may be lost: session \(session.id): \(reason)")
                }
            }
        }

        /// Runs the command under the lock; exits with its status after releasing, or 1 once the
        /// session may be lost (after killing the command).
        func execute(_ grant: LockGrant) throws(CommandFailure) -> Int32 {
            var environment = ProcessInfo.processInfo.environment
            environment["CHORUS_LOCK_NAME"] = grant.name
            environment["CHORUS_LOCK_TOKEN"] = String(grant.token)
            environment["CHORUS_LOCK_SESSION"] = session.id
            let child: ChildProcess
            do { child = try ChildProcess.spawn(request.command, environment: environment) } catch {
                _ = try? releaseAndClose()
                throw error
            }
            while true {
                let arrived = bell.wait(signalPipe: signals, timeout: .milliseconds(250))
                for s in arrived where Supervisor.terminating.contains(s) { child.signal(s) }
                if let reason = session.lostReason() {
                    // Someone else may hold the lock by now: stop the command at once.
                    child.signal(SIGKILL)
                    _ = child.exitStatus(blocking: true)
                    session.close(timeout: .seconds(1))
                    throw CommandFailure("lock \(request.name) may be lost, killed \(request.command[0]) (pid \(child.pid)): session \(session.id): \(reason)")
                }
                if let status = child.exitStatus() {
                    _ = try releaseAndClose()
                    return status
                }
            }
        }

        /// Releases the lock (retrying an unsettled answer with the same request id for up to
        /// 5 s) and closes the session (which would release it too). 0 when released.
        func releaseAndClose() throws(CommandFailure) -> Int32 {
            let failure: String?
            switch api.releaseSettling(request.name, session: session.id) {
            case .ok: failure = nil
            case let .refused(r) where r.code == "not_held":
                // The command released the lock itself (chorus lock release): nothing left to do.
                failure = nil
            case let .refused(r): failure = "the agent refused the release: \(r)"
            case let .unsettled(why): failure = "no answer to the release: \(why)"
            }
            let closed = session.close()
            if let failure {
                throw CommandFailure("lock \(request.name): \(failure)" + (closed ? "; the session is closed, which releases it"
                                                                                  : "; it is released when session \(session.id) expires"))
            }
            return 0
        }
    }
}

/// Waits for one grant on a worker thread, so that the main thread stays free to notice
/// signals and a lost session.
///
/// The agent holds an acquire request open while the lock is queued, up to `wait_ms`. A
/// request that got no final answer (no connection, no answer in time, a 5xx) is sent again
/// with the same request id: the agent answers a repeat from its record — the grant, the
/// failure, or, while still queued, keeps waiting — so a repeat never queues twice. One HTTP
/// request waits at most a minute (the agent cuts any request at 5 minutes, and a dead agent
/// should not go unnoticed for long) and is then repeated. A wait longer than the agent's
/// limit of one day (`LockTableSettings.maxWaitMillis`) is a chain of one-day waits, each with
/// a new request id, the next sent when the agent answers `timeout`.
final class AcquireWaiter: @unchecked Sendable {
    enum Outcome: Sendable {
        case granted(LockGrant)
        case failed(String)
    }

    /// The longest single HTTP request of a wait before it is repeated.
    static let attemptCap: Interval = .seconds(60)
    /// Time the agent may add to `wait_ms` while routing the request to the shard's leader
    /// (its routing budget is 5 s; twice that).
    static let routingSlack: Interval = .seconds(10)
    /// The agent's longest `wait_ms`.
    static let maxWait: Interval = .milliseconds(Int64(LockTableSettings().maxWaitMillis))

    let request: LockAcquireCommand.Request
    let api: LockAPI
    let session: String
    let bell: Doorbell
    private let state = Mutex<(outcome: Outcome?, abandoned: Bool)>((nil, false))

    init(request: LockAcquireCommand.Request, api: LockAPI, session: String, bell: Doorbell) {
        self.request = request
        self.api = api
        self.session = session
        self.bell = bell
    }

    var outcome: Outcome? { state.withLock { $0.outcome } }

    func start() { Thread.detachNewThread { [self] in run() } }

    /// The supervisor gave up; the worker stops at its next step.
    func abandon() { state.withLock { $0.abandoned = true } }

    private var abandoned: Bool { state.withLock { $0.abandoned } }

    private func finish(_ outcome: Outcome) {
        state.withLock { $0.outcome = outcome }
        bell.ring()
    }

    private func run() {
        let started = MonotonicClock.now()
        let deadline = request.wait.map { started + $0 }
        while !abandoned {
            let requestID = LockAPI.newRequestID("acq")
            let sent = MonotonicClock.now()
            let wait = min(deadline.map { max(.zero, $0 - sent) } ?? AcquireWaiter.maxWait, AcquireWaiter.maxWait)
            let chunkEnd = sent + wait + AcquireWaiter.routingSlack
            var backoff = Interval.milliseconds(100)
            var lastProblem = ""
            attempts: while !abandoned {
                let now = MonotonicClock.now()
                guard now < chunkEnd else {
                    finish(.failed("no answer from the agent at \(api.address) within the wait: \(lastProblem)"))
                    return
                }
                let timeout = min(chunkEnd - now, AcquireWaiter.attemptCap)
                let answer = api.acquire(request.name, session: session, mode: request.mode, waitMillis: wait.nanoseconds / 1_000_000,
                                         requestID: requestID, timeout: timeout)
                switch answer {
                case let .ok(response):
                    if let grant = try? response.decodeJSON(LockGrant.self) {
                        finish(.granted(grant))
                        return
                    }
                    lastProblem = "the agent answered HTTP \(response.status) without a grant"
                case let .refused(r) where r.code == "timeout" && wait == AcquireWaiter.maxWait
                                            && (deadline.map { MonotonicClock.now() < $0 } ?? true):
                    // A one-day chunk of a longer wait ran out: queue again.
                    break attempts
                case let .refused(r):
                    finish(.failed(AcquireWaiter.explain(r, wait: request.wait)))
                    return
                case let .unsettled(why):
                    lastProblem = why
                }
                usleep(UInt32(backoff.nanoseconds / 1_000))
                backoff = min(backoff * 2, .seconds(1))
            }
        }
    }

    /// One line for a refused acquire.
    static func explain(_ r: LockRefusal, wait: Interval?) -> String {
        switch r.code {
        case "timeout": return "not granted within \(wait.map(\.description) ?? "the wait") (timeout)"
        case "deadlock": return "waiting would deadlock; this session's wait was chosen to break the cycle (deadlock)"
        case "session_expired": return "the session expired while waiting (session_expired)"
        default: return "the agent refused the acquire: \(r)"
        }
    }
}
