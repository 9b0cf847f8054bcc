//! Hooks a child's work calls at named points, so that subsystems the launcher plugs in
//! (crash annotations, the `--crash-test` switch) can watch a process without the GPU and
//! content crates depending on them. The launcher implements [`Probe`]; without one,
//! [`NoProbe`] does nothing.

use std::sync::Arc;

/// A named point in a child's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbePoint {
    /// The child has started but not yet connected to the launcher, so it has no crash
    /// reporting yet: the launcher only sees it die.
    BeforeConnect,
    /// The child is connected and about to serve.
    Startup,
    /// In the middle of a frame: content has built its display list but not sent it; the
    /// GPU process has encoded its draw calls but not submitted them.
    MidFrame,
    /// The GPU process is reading a frame back (GPU only).
    Readback,
}

impl ProbePoint {
    /// Every point, in the order a frame reaches them.
    pub const ALL: [ProbePoint; 4] =
        [ProbePoint::BeforeConnect, ProbePoint::Startup, ProbePoint::MidFrame, ProbePoint::Readback];

    /// The spelling used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbePoint::BeforeConnect => "before-connect",
            ProbePoint::Startup => "startup",
            ProbePoint::MidFrame => "mid-frame",
            ProbePoint::Readback => "readback",
        }
    }
}

impl std::fmt::Display for ProbePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProbePoint {
    type Err = String;

    fn from_str(text: &str) -> Result<ProbePoint, String> {
        ProbePoint::ALL.into_iter().find(|point| point.as_str() == text).ok_or_else(|| {
            // Listed from `ALL`, so a new point is named here without anyone remembering to.
            let names: Vec<&str> = ProbePoint::ALL.iter().map(|point| point.as_str()).collect();
            let (last, rest) = names.split_last().unwrap_or((&"", &[]));
            format!("unknown point '{text}' (expected {} or {last})", rest.join(", "))
        })
    }
}

/// What a child's work reports as it goes.
pub trait Probe: Send + Sync {
    /// Records a fact about the process (a crash annotation), e.g. `("Url", "file:///…")`.
    fn annotate(&self, key: &str, value: &str);
    /// The work has reached `point`.
    fn reached(&self, point: ProbePoint);
}

/// A probe that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProbe;

impl Probe for NoProbe {
    fn annotate(&self, _key: &str, _value: &str) {}
    fn reached(&self, _point: ProbePoint) {}
}

/// Annotation keys Armature's processes set (crash reports show them).
pub mod annotation {
    /// `gpu` or `content`.
    pub const PROCESS_TYPE: &str = "ProcessType";
    /// The page a content process shows, as a `file://` URL.
    pub const URL: &str = "Url";
    /// The GPU process's adapter, backend and driver.
    pub const GPU_ADAPTER: &str = "GpuAdapter";
    /// Display items in the frame being built or drawn.
    pub const ITEM_COUNT: &str = "ItemCount";
    /// The frame (epoch) being built or drawn.
    pub const EPOCH: &str = "Epoch";
    /// The content process whose frame the GPU process is drawing.
    pub const CONTENT: &str = "Content";
    /// Where a `--crash-test` crash was made to happen; set just before it.
    pub const CRASH_TEST_POINT: &str = "CrashTestPoint";
    /// When the `--crash-test` crash happened: Unix time in nanoseconds (benchmarks read it).
    pub const CRASH_TEST_TIME_NS: &str = "CrashTestTimeNs";
}

/// A shared probe handle.
pub type SharedProbe = Arc<dyn Probe>;

/// A probe that ignores everything, as a handle.
pub fn no_probe() -> SharedProbe {
    Arc::new(NoProbe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_by_their_spelling_and_an_unknown_one_lists_them_all() {
        for point in ProbePoint::ALL {
            assert_eq!(point.as_str().parse::<ProbePoint>(), Ok(point));
        }
        assert_eq!(
            "lunch".parse::<ProbePoint>(),
            Err("unknown point 'lunch' (expected before-connect, startup, mid-frame or readback)".to_owned())
        );
    }
}
