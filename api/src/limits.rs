//! What one content process may hold in the GPU process, and the shares of it its content
//! process keeps to.
//!
//! The GPU process checks [`PROCESS`] on every image and image buffer it is sent: a process
//! past it is hostile (or runaway) and is terminated. A well-behaved page must never get
//! there, so the content process refuses, page by page and with a warning, what would take a
//! kind of texture past its share: an image past [`PAGE_IMAGES`] is a broken image, a
//! `<canvas>` past [`PAGE_CANVASES`] has no bitmap, and `create_canvas` past
//! [`OFFSCREEN_CANVASES`] traps. The shares add up to no more than the whole (checked at
//! compile time), so a page within them is always within [`PROCESS`].

use crate::DeviceIntSize;

/// Largest image or image-buffer side, in pixels (browsers cap canvases alike).
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// A number of textures and the pixels they hold together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// Most images or image buffers.
    pub textures: usize,
    /// Most pixels, all of them together.
    pub pixels: u64,
}

/// All one content process may hold in the GPU process at once (2 GiB of RGBA).
pub const PROCESS: Share = Share { textures: 4096, pixels: 512 << 20 };
/// The page's decoded `<img>`s (distinct sources).
pub const PAGE_IMAGES: Share = Share { textures: 2048, pixels: 256 << 20 };
/// The bitmaps of the page's `<canvas>` elements.
pub const PAGE_CANVASES: Share = Share { textures: 1024, pixels: 240 << 20 };
/// The offscreen canvases scripts make (`create_canvas`) and hold at once.
pub const OFFSCREEN_CANVASES: Share = Share { textures: 1024, pixels: 16 << 20 };

const _: () = {
    let shares = [PAGE_IMAGES, PAGE_CANVASES, OFFSCREEN_CANVASES];
    let (mut textures, mut pixels, mut index) = (0, 0, 0);
    while index < shares.len() {
        textures += shares[index].textures;
        pixels += shares[index].pixels;
        index += 1;
    }
    assert!(textures <= PROCESS.textures && pixels <= PROCESS.pixels, "the shares exceed the whole");
};

/// Why one more texture does not fit a share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The share's count is taken.
    TooMany {
        /// The count.
        max: usize,
    },
    /// The pixels would pass the share's.
    TooManyPixels {
        /// What they would come to.
        pixels: u64,
        /// The share's.
        max: u64,
    },
}

/// What is held of a share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Textures held.
    pub textures: usize,
    /// Pixels they hold.
    pub pixels: u64,
}

impl Held {
    /// What would be held with one more texture of `size` (in place of one of `replaced`, if
    /// it replaces one), if that is within `share`.
    pub fn with(
        self,
        size: DeviceIntSize,
        replaced: Option<DeviceIntSize>,
        share: Share,
    ) -> Result<Held, Refused> {
        let textures = self.textures + usize::from(replaced.is_none());
        if textures > share.textures {
            return Err(Refused::TooMany { max: share.textures });
        }
        let pixels = self.pixels.saturating_sub(replaced.map_or(0, area)) + area(size);
        if pixels > share.pixels {
            return Err(Refused::TooManyPixels { pixels, max: share.pixels });
        }
        Ok(Held { textures, pixels })
    }

    /// What is held once a texture of `size` is given back.
    pub fn without(self, size: DeviceIntSize) -> Held {
        Held { textures: self.textures.saturating_sub(1), pixels: self.pixels.saturating_sub(area(size)) }
    }
}

/// Pixels of a texture of `size`.
pub fn area(size: DeviceIntSize) -> u64 {
    u64::from(size.width) * u64::from(size.height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_takes_its_count_and_its_pixels_and_no_more() {
        let share = Share { textures: 2, pixels: 100 };
        let held = Held::default().with(DeviceIntSize::new(5, 10), None, share).expect("fits");
        let held = held.with(DeviceIntSize::new(5, 10), None, share).expect("fits exactly");
        assert_eq!(held, Held { textures: 2, pixels: 100 });
        assert_eq!(held.with(DeviceIntSize::new(1, 1), None, share), Err(Refused::TooMany { max: 2 }));
        // A replacement counts only the difference in pixels, and no texture.
        assert_eq!(
            held.with(DeviceIntSize::new(6, 10), Some(DeviceIntSize::new(5, 10)), share),
            Err(Refused::TooManyPixels { pixels: 110, max: 100 })
        );
        let smaller = held.with(DeviceIntSize::new(2, 10), Some(DeviceIntSize::new(5, 10)), share);
        assert_eq!(smaller, Ok(Held { textures: 2, pixels: 70 }));
        assert_eq!(held.without(DeviceIntSize::new(5, 10)), Held { textures: 1, pixels: 50 });
    }
}
