//! Generates the Tauri context (config, embedded ui/dist, capabilities) at compile time.
fn main() {
    tauri_build::build()
}
