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
/// A size in whole device pixels (render targets, viewports).
pub type DeviceIntSize = euclid::Size2D<u32, DevicePixel>;
