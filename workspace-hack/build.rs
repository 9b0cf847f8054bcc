//! Empty: it exists so the `[build-dependencies]` pin (syn's features for every derive
//! macro's build) takes part in resolution.

fn main() {}
