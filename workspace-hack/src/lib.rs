//! No code: this crate's `Cargo.toml` pins shared dependencies' features so that every
//! feature set of the workspace builds them alike (see the comment there).
