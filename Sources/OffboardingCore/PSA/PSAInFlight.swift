/// The requests one piece of work (an offboarding's writes) may have in flight at once, bound for
/// its child tasks: the transport takes a permit around each attempt only, so a request waiting
/// to be repeated (a `Retry-After`, a backoff) holds none and the others go on.
public enum PSAInFlight {
    @TaskLocal public static var bound: AsyncSemaphore?
}
