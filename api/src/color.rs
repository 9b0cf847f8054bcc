//! Colours as they travel in display lists.

use serde::{Deserialize, Serialize};

/// A non-premultiplied sRGB colour with components in 0..=1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColorF {
    /// Red.
    pub r: f32,
    /// Green.
    pub g: f32,
    /// Blue.
    pub b: f32,
    /// Alpha (opacity).
    pub a: f32,
}

impl ColorF {
    /// Opaque white, the canvas colour of a page without a background.
    pub const WHITE: ColorF = ColorF::new(1.0, 1.0, 1.0, 1.0);
    /// Opaque black, the initial value of CSS `color`.
    pub const BLACK: ColorF = ColorF::new(0.0, 0.0, 0.0, 1.0);
    /// Fully transparent.
    pub const TRANSPARENT: ColorF = ColorF::new(0.0, 0.0, 0.0, 0.0);

    /// A colour from float components.
    pub const fn new(r: f32, g: f32, b: f32, a: f32) -> ColorF {
        ColorF { r, g, b, a }
    }

    /// A colour from 8-bit components.
    pub fn from_rgba8(r: u8, g: u8, b: u8, a: u8) -> ColorF {
        let unit = |v: u8| f32::from(v) / 255.0;
        ColorF::new(unit(r), unit(g), unit(b), unit(a))
    }

    /// The colour multiplied by its alpha, as blending wants it.
    pub fn premultiplied(self) -> [f32; 4] {
        [self.r * self.a, self.g * self.a, self.b * self.a, self.a]
    }

    /// Whether painting with this colour changes nothing.
    pub fn is_transparent(self) -> bool {
        self.a <= 0.0
    }
}
