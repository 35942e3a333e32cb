/// What a run reports as it goes: to keep a health check from calling it stalled, and to show a
/// person at a terminal how far it is.
public enum RunProgress: Sendable, Hashable {
    /// A PSA call returned.
    case call
    /// The writes begin: this many configurations are to be written.
    case writing(total: Int)
    /// This many more configurations were written (whatever the PSA answered); also a call.
    case wrote(Int)
}
