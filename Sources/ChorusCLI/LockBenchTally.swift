/// Why one lock request of `chorus bench lock` did not succeed, as the report lists it.
enum LockBenchFailureKind: String, CaseIterable, Sendable, Comparable {
    /// The server answered that the acquire's wait ran out (chorus `timeout`).
    case timeout
    /// No connection, or no complete answer in time.
    case connection
    /// Sent to a node that does not lead the lock's shard (421).
    case notLeader = "not_leader"
    /// Refused for load (429).
    case overloaded
    /// A 5xx or another answer that is not final.
    case serverError = "server_error"
    /// A final refusal (session gone, lock not held, bad request): the client stops.
    case refused

    static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The kind of a non-2xx HTTP answer by its status.
    static func of(status: Int) -> Self {
        switch status {
        case 421: return .notLeader
        case 429: return .overloaded
        case 408: return .connection
        case 400..<500: return .refused
        default: return .serverError
        }
    }
}

/// The outcomes of one kind of request (acquire or release) answered inside the measured
/// window: every attempt, the repeats of a request after an unsettled answer included.
///
/// Invariant: `attempts` is `successes` plus the sum of `failures`, so `successRate` is nil
/// when nothing was attempted and otherwise lies in 0...1.
struct LockBenchTally: Equatable, Sendable {
    private(set) var attempts = 0
    private(set) var successes = 0
    private(set) var failures: [LockBenchFailureKind: Int] = [:]

    mutating func succeeded() {
        attempts += 1
        successes += 1
    }

    mutating func failed(_ kind: LockBenchFailureKind) {
        attempts += 1
        failures[kind, default: 0] += 1
    }

    mutating func add(_ other: LockBenchTally) {
        attempts += other.attempts
        successes += other.successes
        for (kind, n) in other.failures { failures[kind, default: 0] += n }
    }

    /// Successful attempts over all attempts; nil when there were none.
    var successRate: Double? { attempts > 0 ? Double(successes) / Double(attempts) : nil }

    /// The failure kinds with their counts, most frequent first (ties by name).
    var failureList: [(kind: LockBenchFailureKind, count: Int)] {
        failures.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }
}
