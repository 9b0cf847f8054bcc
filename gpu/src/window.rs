//! Presenting into a window another process owns (window mode on X11).
//!
//! The launcher owns the window; the GPU process opens its *own* connection to the same X
//! server and creates a wgpu surface on that window by its XID, as Chromium's GPU process
//! does with the browser's window. A frame is rendered into a pooled target as usual; a blit
//! pass then copies it 1:1 into the swapchain image (any part of the window the frame does
//! not cover gets the page background), and the image is presented. No pixels cross a
//! process boundary.
//!
//! The window can change size at any moment (the launcher's user drags it); the surface is
//! configured to the size the X server reports at each present, so a frame laid out for the
//! old size is shown clipped or padded until content's new frame arrives.

use std::ffi::{CString, c_int, c_ulong, c_void};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};

use armature_api::ColorF;
use armature_api::messages::WindowTarget;
use wgpu::rwh::{RawDisplayHandle, RawWindowHandle, XlibDisplayHandle, XlibWindowHandle};
use x11_dl::xlib;

use crate::device::GpuDevice;

/// Why a window cannot be drawn into.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// libX11 could not be loaded.
    #[error("cannot load libX11 ({0}); install libx11-6")]
    NoXlib(String),
    /// The display named by the launcher cannot be opened.
    #[error("cannot open X display '{0}'")]
    OpenDisplay(String),
    /// The window is not there (destroyed, or a wrong id).
    #[error("X window {0:#x} does not exist on the display")]
    NoWindow(u64),
    /// wgpu cannot make a surface on the window.
    #[error("cannot create a surface on X window {window:#x}: {reason}")]
    Surface {
        /// The window.
        window: u64,
        /// What wgpu said.
        reason: String,
    },
    /// The adapter cannot present to this surface in any format we draw.
    #[error("the GPU adapter cannot present to X window {0:#x} in an 8-bit RGBA or BGRA format")]
    NoFormat(u64),
    /// Acquiring or presenting a swapchain image failed.
    #[error("presenting to the window failed: {0}")]
    Present(String),
}

/// The last X protocol error's code, set by [`record_x_error`]; 0 for none.
static LAST_X_ERROR: AtomicU8 = AtomicU8::new(0);

/// Xlib's default error handler exits the process; a GPU process must not die because the
/// launcher's window went away first. This one records the error for the caller to check.
unsafe extern "C" fn record_x_error(_display: *mut xlib::Display, event: *mut xlib::XErrorEvent) -> c_int {
    // SAFETY: Xlib passes a valid event pointer for the duration of the call.
    let code = unsafe { event.as_ref() }.map_or(u8::MAX, |event| event.error_code);
    LAST_X_ERROR.store(code, Ordering::Relaxed);
    0
}

/// The GPU process's own connection to the X server; closed on drop.
struct XConnection {
    xlib: xlib::Xlib,
    display: NonNull<xlib::Display>,
}

impl XConnection {
    fn open(name: &str) -> Result<XConnection, WindowError> {
        let xlib = xlib::Xlib::open().map_err(|error| WindowError::NoXlib(error.to_string()))?;
        let c_name = CString::new(name).map_err(|_| WindowError::OpenDisplay(name.to_owned()))?;
        // SAFETY: XOpenDisplay takes a NUL-terminated name; the error handler is a plain
        // function that stays valid for the process's lifetime.
        let display = unsafe {
            (xlib.XSetErrorHandler)(Some(record_x_error));
            (xlib.XOpenDisplay)(c_name.as_ptr())
        };
        let display = NonNull::new(display).ok_or_else(|| WindowError::OpenDisplay(name.to_owned()))?;
        Ok(XConnection { xlib, display })
    }

    /// A window's size as the X server has it now; `None` if the window is gone.
    fn window_size(&self, window: u64) -> Option<(u32, u32)> {
        let mut attributes = std::mem::MaybeUninit::<xlib::XWindowAttributes>::zeroed();
        LAST_X_ERROR.store(0, Ordering::Relaxed);
        // SAFETY: the display is open; XGetWindowAttributes fills the struct or returns 0
        // (a bad window is reported to our recording error handler, not fatal).
        let ok = unsafe {
            let ok = (self.xlib.XGetWindowAttributes)(
                self.display.as_ptr(),
                window as c_ulong,
                attributes.as_mut_ptr(),
            );
            (self.xlib.XSync)(self.display.as_ptr(), 0);
            ok
        };
        if ok == 0 || LAST_X_ERROR.load(Ordering::Relaxed) != 0 {
            return None;
        }
        // SAFETY: a non-zero return means the struct was filled in.
        let attributes = unsafe { attributes.assume_init() };
        let side = |value: c_int| u32::try_from(value).ok().filter(|&value| value > 0);
        Some((side(attributes.width)?, side(attributes.height)?))
    }
}

impl Drop for XConnection {
    fn drop(&mut self) {
        // SAFETY: the display was opened by us; the surface that used it was dropped first
        // (field order in `WindowPresenter`).
        unsafe { (self.xlib.XCloseDisplay)(self.display.as_ptr()) };
    }
}

/// The GPU process's handle on the launcher's window: a surface, the X connection it lives
/// on, and the blit pipeline.
pub struct WindowPresenter {
    /// Declared before `x`: fields drop in order, and the surface uses the connection.
    surface: wgpu::Surface<'static>,
    x: XConnection,
    window: u64,
    config: wgpu::SurfaceConfiguration,
    /// The format the blit writes (the surface's, without sRGB encoding: our pixels are
    /// already sRGB values).
    view_format: wgpu::TextureFormat,
    configured: Option<(u32, u32)>,
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
}

impl WindowPresenter {
    /// Opens `target` on the device's adapter.
    pub fn open(gpu: &GpuDevice, target: &WindowTarget) -> Result<WindowPresenter, WindowError> {
        let WindowTarget::X11 { display: name, window } = target;
        let window = *window;
        let x = XConnection::open(name)?;
        if x.window_size(window).is_none() {
            return Err(WindowError::NoWindow(window));
        }
        // SAFETY: `screen` is read from a display we just opened.
        let screen = unsafe { (x.xlib.XDefaultScreen)(x.display.as_ptr()) };
        let target = wgpu::SurfaceTargetUnsafe::RawHandle {
            raw_display_handle: Some(RawDisplayHandle::Xlib(XlibDisplayHandle::new(
                Some(x.display.cast::<c_void>()),
                screen,
            ))),
            raw_window_handle: RawWindowHandle::Xlib(XlibWindowHandle::new(window as c_ulong)),
        };
        // SAFETY: the display stays open until after the surface is dropped (field order);
        // the window belongs to the launcher, which keeps it until every process is down,
        // and Xlib errors on it are recorded rather than fatal.
        let surface = unsafe { gpu.instance.create_surface_unsafe(target) }
            .map_err(|error| WindowError::Surface { window, reason: error.to_string() })?;
        let capabilities = surface.get_capabilities(&gpu.adapter);
        let format = [wgpu::TextureFormat::Bgra8Unorm, wgpu::TextureFormat::Rgba8Unorm]
            .into_iter()
            .find(|format| capabilities.formats.contains(format))
            .or_else(|| {
                capabilities.formats.iter().copied().find(|format| {
                    matches!(
                        format,
                        wgpu::TextureFormat::Bgra8UnormSrgb | wgpu::TextureFormat::Rgba8UnormSrgb
                    )
                })
            })
            .ok_or(WindowError::NoFormat(window))?;
        let view_format = format.remove_srgb_suffix();
        let alpha_mode = if capabilities.alpha_modes.contains(&wgpu::CompositeAlphaMode::Opaque) {
            wgpu::CompositeAlphaMode::Opaque
        } else {
            capabilities.alpha_modes.first().copied().unwrap_or(wgpu::CompositeAlphaMode::Auto)
        };
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            width: 1,
            height: 1,
            present_mode: wgpu::PresentMode::Fifo,
            desired_maximum_frame_latency: 2,
            alpha_mode,
            view_formats: if view_format == format { Vec::new() } else { vec![view_format] },
            color_space: wgpu::SurfaceColorSpace::Auto,
        };
        let (pipeline, layout) = blit_pipeline(gpu, view_format);
        Ok(WindowPresenter { surface, x, window, config, view_format, configured: None, pipeline, layout })
    }

    /// Copies `source` (the rendered page, `size`) into the window and presents it, using
    /// `encoder` (the frame's commands so far) and submitting it.
    pub fn present(
        &mut self,
        gpu: &GpuDevice,
        mut encoder: wgpu::CommandEncoder,
        source: &wgpu::TextureView,
        size: armature_api::DeviceIntSize,
        background: ColorF,
    ) -> Result<(), WindowError> {
        let (width, height) = self.x.window_size(self.window).ok_or(WindowError::NoWindow(self.window))?;
        let surface = &self.surface;
        let max = gpu.max_texture_side();
        let (width, height) = (width.min(max), height.min(max));
        if self.configured != Some((width, height)) {
            self.config.width = width;
            self.config.height = height;
            surface.configure(&gpu.device, &self.config);
            self.configured = Some((width, height));
        }
        let frame = match surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(frame) | wgpu::CurrentSurfaceTexture::Suboptimal(frame) => {
                frame
            }
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                // The window changed under us; the next present configures afresh.
                self.configured = None;
                return Err(WindowError::Present("the window's surface is out of date".into()));
            }
            other => return Err(WindowError::Present(format!("{other:?}"))),
        };
        let view = frame.texture.create_view(&wgpu::TextureViewDescriptor {
            format: Some(self.view_format),
            ..wgpu::TextureViewDescriptor::default()
        });
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("window blit"),
            layout: &self.layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(source),
            }],
        });
        {
            let clear = wgpu::Color {
                r: f64::from(background.r),
                g: f64::from(background.g),
                b: f64::from(background.b),
                a: 1.0,
            };
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("window blit"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations { load: wgpu::LoadOp::Clear(clear), store: wgpu::StoreOp::Store },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            // 1:1 copy of the part of the frame the window can show.
            let (copy_width, copy_height) = (size.width.min(width), size.height.min(height));
            pass.set_viewport(0.0, 0.0, copy_width as f32, copy_height as f32, 0.0, 1.0);
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
        gpu.queue.submit([encoder.finish()]);
        gpu.queue.present(frame);
        Ok(())
    }
}

/// A full-viewport triangle that loads the source texel under each pixel.
const BLIT_SHADER: &str = r"
@group(0) @binding(0) var source: texture_2d<f32>;

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    let corner = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    return vec4<f32>(corner.x * 2.0 - 1.0, 1.0 - corner.y * 2.0, 0.0, 1.0);
}

@fragment
fn fs_main(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let texel = textureLoad(source, vec2<i32>(position.xy), 0);
    return vec4<f32>(texel.rgb, 1.0);
}
";

fn blit_pipeline(
    gpu: &GpuDevice,
    format: wgpu::TextureFormat,
) -> (wgpu::RenderPipeline, wgpu::BindGroupLayout) {
    let device = &gpu.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("window blit"),
        source: wgpu::ShaderSource::Wgsl(BLIT_SHADER.into()),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("window blit"),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        }],
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("window blit"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some("window blit"),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: &module,
            entry_point: Some("vs_main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: &module,
            entry_point: Some("fs_main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    });
    (pipeline, layout)
}
