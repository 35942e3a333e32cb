/// The PSAs psa-offboarder speaks to.
public enum PSAKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case connectwise
    case autotask
    case halopsa

    public var description: String { rawValue }
}
