import ChorusBase
import Glibc

/// The runtime's source of `Instant`s: `CLOCK_MONOTONIC`, which never steps backwards when
/// the wall clock is adjusted. Invariant: successive `now()` readings never decrease.
/// The origin is arbitrary (boot time on Linux), so instants are only compared with each other.
public enum MonotonicClock {
    /// The current monotonic instant.
    public static func now() -> Instant {
        var ts = timespec()
        // clock_gettime(CLOCK_MONOTONIC) cannot fail on Linux with a valid pointer.
        _ = clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec))
    }
}
