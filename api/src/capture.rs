//! Capture vocabulary shared by the processes: which levels of the pipeline to capture, and
//! how much of each content→GPU stream to keep for crash reports. The capture crate does the
//! work; these are the words the launcher uses to ask for it.

use serde::{Deserialize, Serialize};

/// A slice of the pipeline that a capture can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// Every command of the content→GPU stream, in order, with the resources it carried.
    Stream,
    /// Each presented display list with every resource live at that moment.
    Scene,
    /// What the renderer built: primitives, batches, the glyph atlas.
    Frame,
    /// PNGs of each presented frame (and of each image buffer).
    Pixels,
}

impl Level {
    /// Every level, in pipeline order.
    pub const ALL: [Level; 4] = [Level::Stream, Level::Scene, Level::Frame, Level::Pixels];

    /// The spelling on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Stream => "stream",
            Level::Scene => "scene",
            Level::Frame => "frame",
            Level::Pixels => "pixels",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str().to_uppercase())
    }
}

/// A combination of levels (`--capture-levels scene,pixels`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Levels(u8);

impl Levels {
    /// Every level.
    pub const ALL: Levels = Levels(0b1111);

    /// Whether `level` is in the set.
    pub fn contains(self, level: Level) -> bool {
        self.0 & level.bit() != 0
    }

    /// The set with `level` added.
    pub fn with(self, level: Level) -> Levels {
        Levels(self.0 | level.bit())
    }

    /// Whether no level is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The levels in pipeline order.
    pub fn iter(self) -> impl Iterator<Item = Level> {
        Level::ALL.into_iter().filter(move |&level| self.contains(level))
    }
}

impl FromIterator<Level> for Levels {
    fn from_iter<I: IntoIterator<Item = Level>>(levels: I) -> Levels {
        levels.into_iter().fold(Levels::default(), Levels::with)
    }
}

impl std::fmt::Debug for Levels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl std::fmt::Display for Levels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(Level::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl std::str::FromStr for Levels {
    type Err = String;

    /// Parses `stream,scene,frame,pixels` (any subset, any order) or `all`.
    fn from_str(text: &str) -> Result<Levels, String> {
        if text.trim() == "all" {
            return Ok(Levels::ALL);
        }
        let levels = text
            .split(',')
            .map(|name| {
                let name = name.trim();
                Level::ALL.into_iter().find(|level| level.as_str() == name).ok_or_else(|| {
                    format!("unknown capture level '{name}' (expected stream, scene, frame, pixels or all)")
                })
            })
            .collect::<Result<Levels, String>>()?;
        if levels.is_empty() {
            return Err("no capture level given (expected stream, scene, frame, pixels or all)".into());
        }
        Ok(levels)
    }
}

/// How much of its content→GPU stream each side keeps in memory, so the survivor of a crash
/// can write the last frames into the crash report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecording {
    /// Frames kept (0: none; crash reports then carry no stream capture).
    pub frames: u32,
    /// Bytes of commands kept at most (the newest frame always stays).
    pub max_bytes: u64,
}

impl StreamRecording {
    /// Recording off.
    pub const OFF: StreamRecording = StreamRecording { frames: 0, max_bytes: 0 };
}

impl Default for StreamRecording {
    /// The last 3 frames, at most 64 MiB.
    fn default() -> StreamRecording {
        StreamRecording { frames: 3, max_bytes: 64 << 20 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_lists_parse() {
        let levels: Levels = "scene, pixels".parse().expect("two levels");
        assert!(levels.contains(Level::Scene) && levels.contains(Level::Pixels));
        assert!(!levels.contains(Level::Stream) && !levels.contains(Level::Frame));
        assert_eq!(levels.to_string(), "scene,pixels");
        assert_eq!("all".parse::<Levels>(), Ok(Levels::ALL));
        assert!("scene,pixel".parse::<Levels>().unwrap_err().contains("'pixel'"));
        assert!("".parse::<Levels>().is_err());
    }
}
