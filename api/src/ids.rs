//! Typed, namespaced ids. Ids a process allocates carry its namespace so that two content
//! processes sharing one GPU process never collide (WebRender's `IdNamespace` scheme).

use serde::{Deserialize, Serialize};

/// The namespace of ids allocated by one content process; handed out by the launcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdNamespace(pub u32);

/// Which content process (one per page) a message or frame belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContentId(pub u32);

impl ContentId {
    /// The id namespace this content process allocates resource ids in.
    pub fn namespace(self) -> IdNamespace {
        IdNamespace(self.0)
    }
}

impl std::fmt::Display for ContentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "content#{}", self.0)
    }
}

/// A font resource, uploaded to the GPU process once and then referred to by key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FontKey(pub IdNamespace, pub u32);

/// A monotonically increasing frame number of one content process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Epoch(pub u32);

impl Epoch {
    /// The epoch that follows this one.
    pub fn next(self) -> Epoch {
        Epoch(self.0.wrapping_add(1))
    }
}

/// A decoded image (an `<img>`), uploaded to the GPU process once and then referred to by key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImageKey(pub IdNamespace, pub u32);

/// An image buffer (a `<canvas>` backing store) that lives in the GPU process. The content
/// process allocates the id, so it can refer to a buffer before the GPU process has made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImageBufferId(pub IdNamespace, pub u32);
