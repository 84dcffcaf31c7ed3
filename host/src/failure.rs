//! Why a row failed: one closed list of kinds, each written by its name in the outputs and summaries.

/// The kind of a row failure. Every stage error carries one; outputs show [`FailureKind::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    /// The model answered, but not with usable scores (no function call, invalid JSON, a missing,
    /// non-numeric or out-of-range score), even after asking again.
    BadAnswer,
    /// A call or a component ran past its time limit.
    Timeout,
    /// The provider kept answering 429 after every retry.
    RateLimited,
    /// The provider kept answering 5xx (or dropped the connection) after every retry.
    ServerError,
    /// The provider could not be reached (the connection broke or was refused) after every retry.
    Connection,
    /// The provider refused this request (a 4xx other than the run-stopping ones).
    Rejected,
    /// Not sent: `--max-usd` was reached.
    OverBudget,
    /// Not sent: the server's quota (a per-day budget, say) ran out.
    RateBudget,
    /// The server cannot call tools (with `--structured tools`, or before `auto` switched).
    ToolsUnsupported,
    /// `--batch`: the batch brought no usable answer for this request.
    Batch,
    /// Reading ratings from the cache only (`train`, `compare`): the cache has no answer for this
    /// prompt under the chosen model and version.
    Unrated,
    /// A prompt template failed to render for this row.
    Template,
    /// No chunk of the row was rated.
    NoChunks,
    /// The lens has no stage that can do this (e.g. a local lens without a scoring component).
    Unsupported,
    /// A component asked for more memory than its limit.
    MemoryLimit,
    /// A component returned more data than its output limit.
    OutputLimit,
    /// A component tried to use a file or the network.
    Sandbox,
    /// A component crashed.
    Trap,
    /// A component returned an error of its own.
    PluginError,
    /// A component returned something the host cannot use.
    BadOutput,
}

impl FailureKind {
    /// The machine-readable name used in per-row output and summaries.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::BadAnswer => "bad-answer",
            FailureKind::Timeout => "timeout",
            FailureKind::RateLimited => "rate-limited",
            FailureKind::ServerError => "server-error",
            FailureKind::Connection => "connection",
            FailureKind::Rejected => "rejected",
            FailureKind::OverBudget => "over-budget",
            FailureKind::RateBudget => "rate-budget",
            FailureKind::ToolsUnsupported => "tools-unsupported",
            FailureKind::Batch => "batch",
            FailureKind::Unrated => "unrated",
            FailureKind::Template => "template",
            FailureKind::NoChunks => "no-chunks",
            FailureKind::Unsupported => "unsupported",
            FailureKind::MemoryLimit => "memory-limit",
            FailureKind::OutputLimit => "output-limit",
            FailureKind::Sandbox => "sandbox",
            FailureKind::Trap => "trap",
            FailureKind::PluginError => "plugin-error",
            FailureKind::BadOutput => "bad-output",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
