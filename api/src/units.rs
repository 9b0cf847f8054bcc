//! Coordinate spaces as types: layout pixels (CSS px, what content produces) and device
//! pixels (what the GPU renders into). Mixing the two does not compile.

use serde::{Deserialize, Serialize};

/// CSS pixels, in the page's coordinate space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LayoutPixel;

/// Physical pixels of a render target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DevicePixel;

/// A point in layout space.
pub type LayoutPoint = euclid::Point2D<f32, LayoutPixel>;
/// A size in layout space.
pub type LayoutSize = euclid::Size2D<f32, LayoutPixel>;
/// A rectangle in layout space.
pub type LayoutRect = euclid::Rect<f32, LayoutPixel>;
/// A displacement in layout space.
pub type LayoutVector = euclid::Vector2D<f32, LayoutPixel>;
/// A size in whole device pixels (render targets, viewports).
pub type DeviceIntSize = euclid::Size2D<u32, DevicePixel>;

/// How many device pixels one CSS pixel spans on each axis (`window.devicePixelRatio`): 2 on
/// a typical HiDPI screen. [`DevicePixelRatio::new`] makes only ratios within
/// [`DevicePixelRatio::MIN`]`..=`[`DevicePixelRatio::MAX`]; one decoded from another process
/// or a file may be anything until [`DevicePixelRatio::checked`], which the renderer calls
/// as it checks every other value of a display list. (Checking while decoding would lose
/// the reason: postcard drops a custom error's message.)
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DevicePixelRatio(f32);

/// A device pixel ratio outside what Armature draws at.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error(
    "device pixel ratio {0} is outside {min}..={max}",
    min = DevicePixelRatio::MIN,
    max = DevicePixelRatio::MAX
)]
pub struct RatioOutOfRange(pub f32);

impl DevicePixelRatio {
    /// One device pixel per CSS pixel.
    pub const ONE: DevicePixelRatio = DevicePixelRatio(1.0);
    /// The smallest ratio: a quarter, as far as browsers zoom out.
    pub const MIN: f32 = 0.25;
    /// The largest ratio: screens ship at up to 4; more would only multiply texture sizes.
    pub const MAX: f32 = 4.0;

    /// `ratio`, if it is within `MIN..=MAX` (NaN is not).
    pub fn new(ratio: f32) -> Result<DevicePixelRatio, RatioOutOfRange> {
        if (Self::MIN..=Self::MAX).contains(&ratio) {
            Ok(DevicePixelRatio(ratio))
        } else {
            Err(RatioOutOfRange(ratio))
        }
    }

    /// The ratio, if it is within `MIN..=MAX` (one decoded from elsewhere may not be).
    pub fn checked(self) -> Result<DevicePixelRatio, RatioOutOfRange> {
        DevicePixelRatio::new(self.0)
    }

    /// The ratio as a number.
    pub fn get(self) -> f32 {
        self.0
    }

    /// Device pixels covering `css` CSS pixels on each axis, rounded to whole pixels (at
    /// least one).
    pub fn device_size(self, css: LayoutSize) -> DeviceIntSize {
        let side = |css: f32| (css * self.0).round().max(1.0) as u32;
        DeviceIntSize::new(side(css.width), side(css.height))
    }

    /// The CSS size that `device` pixels show.
    pub fn layout_size(self, device: DeviceIntSize) -> LayoutSize {
        LayoutSize::new(device.width as f32 / self.0, device.height as f32 / self.0)
    }

    /// `value` CSS pixels moved to the nearest device pixel (browsers snap scroll positions
    /// so, keeping a scrolled page's edges as crisp as an unscrolled one's).
    pub fn snap(self, value: f32) -> f32 {
        (value * self.0).round() / self.0
    }
}

impl Default for DevicePixelRatio {
    fn default() -> DevicePixelRatio {
        DevicePixelRatio::ONE
    }
}

impl std::fmt::Display for DevicePixelRatio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A page's viewport as it is drawn: its size in device pixels (the window's inner size, or
/// the screenshot's) and the ratio that turns them into the CSS pixels layout works in.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewport {
    /// Size in device pixels.
    pub size: DeviceIntSize,
    /// Device pixels per CSS pixel.
    pub ratio: DevicePixelRatio,
}

impl Viewport {
    /// A viewport of `css` CSS pixels drawn at `ratio` (its device size rounded).
    pub fn from_css(css: DeviceIntSize, ratio: DevicePixelRatio) -> Viewport {
        Viewport { size: ratio.device_size(LayoutSize::new(css.width as f32, css.height as f32)), ratio }
    }

    /// The viewport in CSS pixels: what the page is laid out in.
    pub fn layout_size(&self) -> LayoutSize {
        self.ratio.layout_size(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_outside_the_range_or_not_numbers_are_refused_also_once_decoded() {
        for ratio in [0.25, 1.0, 1.5, 2.0, 4.0] {
            assert_eq!(DevicePixelRatio::new(ratio).map(DevicePixelRatio::get), Ok(ratio));
        }
        for ratio in [0.0, 0.2, -1.0, 4.5, f32::NAN, f32::INFINITY] {
            assert!(DevicePixelRatio::new(ratio).is_err(), "{ratio}");
        }
        assert_eq!(RatioOutOfRange(9.0).to_string(), "device pixel ratio 9 is outside 0.25..=4",);
        let decoded: DevicePixelRatio = ron::from_str("100.0").expect("any number decodes");
        assert_eq!(decoded.checked(), Err(RatioOutOfRange(100.0)));
        let decoded: DevicePixelRatio = ron::from_str("1.5").expect("decodes");
        assert_eq!(decoded.checked().map(DevicePixelRatio::get), Ok(1.5));
    }

    #[test]
    fn a_viewport_in_css_pixels_round_trips_through_device_pixels() {
        let ratio = DevicePixelRatio::new(1.5).expect("ratio");
        let viewport = Viewport::from_css(DeviceIntSize::new(801, 600), ratio);
        assert_eq!(viewport.size, DeviceIntSize::new(1202, 900), "801 × 1.5 = 1201.5, rounded");
        // A window of odd device pixels: layout gets the fractional CSS width, and the GPU
        // process's target comes back to the window's size.
        let window = Viewport { size: DeviceIntSize::new(1001, 777), ratio };
        assert_eq!(ratio.device_size(window.layout_size()), window.size);
        assert_eq!(ratio.snap(10.4), 16.0 / 1.5, "10.4 CSS px = 15.6 device px, snapped to 16");
    }
}
