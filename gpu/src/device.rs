//! The GPU device: instance, adapter and queue, chosen once per GPU process.

use armature_api::messages::AdapterSummary;

/// Why no device could be created.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// No Vulkan adapter at all (no driver installed, or none that works).
    #[error(
        "no GPU adapter found: wgpu could not open any Vulkan device ({0}). Install a Vulkan driver; \
         on Debian/Ubuntu without a GPU, `apt-get install mesa-vulkan-drivers` provides lavapipe, \
         Mesa's CPU implementation"
    )]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("the GPU adapter '{adapter}' refused to create a device: {reason}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// What wgpu said.
        reason: String,
    },
}

/// A wgpu device and queue plus what was chosen.
pub struct GpuDevice {
    /// The instance (kept to create window surfaces later).
    pub instance: wgpu::Instance,
    /// The adapter the device came from.
    pub adapter: wgpu::Adapter,
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// What the launcher is told about the adapter.
    pub summary: AdapterSummary,
}

impl GpuDevice {
    /// Opens the best available adapter: a real GPU when present, else lavapipe.
    /// `WGPU_ADAPTER_NAME` and friends are honoured through wgpu's env handling.
    pub fn open() -> Result<GpuDevice, DeviceError> {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        // Validation layers are for debugging wgpu itself; they cost startup time.
        descriptor.flags = wgpu::InstanceFlags::empty().with_env();
        descriptor.backends = wgpu::Backends::VULKAN.with_env();
        let instance = wgpu::Instance::new(descriptor);
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            apply_limit_buckets: false,
        };
        let adapter = pollster::block_on(instance.request_adapter(&options))
            .map_err(|error| DeviceError::NoAdapter(error.to_string()))?;
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info).trim().to_owned(),
        };
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("armature"),
            required_features: wgpu::Features::empty(),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&descriptor)).map_err(|error| {
            DeviceError::RequestDevice { adapter: info.name.clone(), reason: error.to_string() }
        })?;
        // wgpu's default handler panics on any error; errors are ours to report, by frame
        // (see the error scopes in the renderer), so anything uncaptured is only logged.
        device.on_uncaptured_error(std::sync::Arc::new(|error: wgpu::Error| {
            tracing::error!(target: "armature::gpu", "uncaptured wgpu error: {error}");
        }));
        device.set_device_lost_callback(|reason, message| {
            tracing::error!(target: "armature::gpu", "GPU device lost ({reason:?}): {message}");
        });
        Ok(GpuDevice { instance, adapter, device, queue, summary })
    }

    /// The largest render target side this device supports.
    pub fn max_texture_side(&self) -> u32 {
        self.device.limits().max_texture_dimension_2d
    }
}
