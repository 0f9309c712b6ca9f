import ChorusBase
import ChorusMembership

/// What a lane has to tell the `Observer`, kept in the order it happened and handed over
/// after each window (the observer is shared, the lanes are not).
enum ObserverNote {
    case event(MemberEvent.Kind, observer: Int32, subject: Int32, at: Instant)
    case started(node: Int32, rejoin: Bool, at: Instant)
    /// Left gracefully and exited.
    case departed(node: Int32, at: Instant)

    var time: Instant {
        switch self {
        case let .event(_, _, _, at), let .started(_, _, at), let .departed(_, at): return at
        }
    }
}
