extension String {
    /// At most `limit` characters, the last of them `…` when cut: for fields with a length limit
    /// (a PSA ticket, a chat message, a terminal column) where the full text is kept elsewhere.
    public func clipped(to limit: Int) -> String {
        guard count > limit else { return self }
        return String(prefix(Swift.max(0, limit - 1))) + "…"
    }
}
