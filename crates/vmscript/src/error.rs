//! Errors of a line.

use serde::Serialize;

/// A line that cannot be run: syntax, or a name the scenario does not have.
/// Displayed as the runner prints it: `LINE error MESSAGE`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, thiserror::Error)]
#[error("{line} error {message}")]
pub struct ScriptError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong, in words (free text).
    pub message: String,
}

impl ScriptError {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        ScriptError {
            line,
            message: message.into(),
        }
    }
}
