//! Capture and replay, WebRender's capture design.
//!
//! This crate will hold: capture levels (STREAM, SCENE, FRAME, PIXELS), their pretty-RON
//! (de)serialization with a versioned manifest, and the replay driver behind
//! `armature replay`. It is plugged into the launcher behind the `capture` feature.
//!
//! Architecture invariant: capture depends only on api; it never talks to processes.
