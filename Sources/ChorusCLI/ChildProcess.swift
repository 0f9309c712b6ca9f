import Foundation
import Glibc

/// A process this one started and waits for: the command `chorus lock acquire -- CMD` runs
/// while it holds the lock, or an agent of `chorus dev`.
///
/// Spawned with `posix_spawnp` (PATH lookup, like a shell) with the signals this process
/// handles (INT, TERM, HUP, CHLD) and PIPE back at their defaults and none blocked, so the
/// child behaves as if started by a shell, not by a process that catches those signals.
/// Invariant: `pid` is a child of this process until `exitStatus` has returned non-nil once.
struct ChildProcess {
    let pid: pid_t

    /// Starts `argv` with `environment` as its whole environment. With `output`, the child's
    /// standard output and error are appended to that file and its standard input is
    /// /dev/null. With `ownProcessGroup`, the child leads a process group of its own, so that
    /// a Ctrl-C at the terminal reaches only this process, which decides what to pass on.
    static func spawn(_ argv: [String], environment: [String: String], output: String? = nil,
                      ownProcessGroup: Bool = false) throws(CommandFailure) -> ChildProcess {
        precondition(!argv.isEmpty, "ChildProcess.spawn needs a command")
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let output {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }

        let args = argv.map { strdup($0) } + [nil]
        let env = environment.keys.sorted().map { strdup("\($0)=\(environment[$0] ?? "")") } + [nil]
        defer {
            for p in args { free(p) }
            for p in env { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, args, env)
        guard rc == 0 else {
            throw CommandFailure("cannot run \(argv[0]): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid)
    }

    func signal(_ signo: Int32) { _ = kill(pid, signo) }

    /// Nil while the child runs; once it has ended, its exit status as a shell reports it
    /// (the exit code, or 128 + the signal that killed it). Reaps the child.
    func exitStatus(blocking: Bool = false) -> Int32? {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if rc == 0 { return nil }
            if rc < 0 {
                if errno == EINTR { continue }
                return 1  // not our child any more (reaped elsewhere): nothing better to report
            }
            return ChildProcess.shellStatus(status)
        }
    }

    /// A `waitpid` status as a shell's `$?`: WEXITSTATUS for a normal exit, 128 + WTERMSIG for
    /// a signal (the macros are not imported into Swift).
    static func shellStatus(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
