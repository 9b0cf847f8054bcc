//! Page scripts as the VMs receive them, and their errors.

/// A script's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptSource {
    /// A binary module (`<script type="application/wasm" src=…>`).
    Wasm(Vec<u8>),
    /// Text format (`<script type="text/wat">…</script>`).
    Wat(String),
}

/// One page script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The name errors and the debugger use: the file name, or `inline script N`.
    pub name: String,
    /// Its source.
    pub source: ScriptSource,
}

impl Script {
    /// The module's bytes, binary or text (wasmtime parses both).
    pub fn bytes(&self) -> &[u8] {
        match &self.source {
            ScriptSource::Wasm(bytes) => bytes,
            ScriptSource::Wat(text) => text.as_bytes(),
        }
    }
}

/// A script's failure; the page keeps rendering and other VMs continue.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// Malformed wasm or WAT.
    #[error("script '{script}' does not compile: {message}")]
    Compile {
        /// The script.
        script: String,
        /// wasmtime's message (with the offset or line and column).
        message: String,
    },
    /// Imports that the host API does not have, or a bad start function.
    #[error("script '{script}' cannot be instantiated: {message} (the host API is in docs/host-api.md)")]
    Instantiate {
        /// The script.
        script: String,
        /// wasmtime's message.
        message: String,
    },
    /// A wasm trap or a failed host call.
    #[error("script '{script}' trapped in {export}: {message}")]
    Trap {
        /// The script.
        script: String,
        /// The export that was running.
        export: String,
        /// The trap and its wasm backtrace.
        message: String,
    },
    /// Ran longer than the budget (an infinite loop, most likely).
    #[error(
        "script '{script}' ran {export} for more than {seconds} s and was stopped (an infinite loop?); raise --script-timeout if it needs longer"
    )]
    Timeout {
        /// The script.
        script: String,
        /// The export that was running.
        export: String,
        /// The budget.
        seconds: f64,
    },
}
