//! glTF KHR_gaussian_splatting: round trips, the Khronos validator, the engine (placeholder).
