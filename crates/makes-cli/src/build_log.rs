//! How builders' output is kept: the cap on one build's log from `MAKES_MAX_BUILD_LOG_SIZE`
//! (bytes, or e.g. `512K`, `64M`; unset, the store's 64 MiB). The CLI may add a line hook
//! (`BuildLogSettings::on_line`) to show builds' output as it comes.

use crate::env_vars::MAKES_MAX_BUILD_LOG_SIZE;
use crate::memory_ceiling::parse_size;
use makes_store::BuildLogSettings;

/// The settings the environment asks for; a value that is not a size is an error naming
/// the variable.
pub fn build_log_settings() -> Result<BuildLogSettings, String> {
    let mut settings = BuildLogSettings::default();
    if let Ok(text) = std::env::var(MAKES_MAX_BUILD_LOG_SIZE) {
        if !text.trim().is_empty() {
            let bytes = parse_size(&text).ok_or_else(|| {
                format!(
                    "{MAKES_MAX_BUILD_LOG_SIZE}={text:?} is not a size (bytes, or e.g. 512K, 64M)"
                )
            })?;
            settings.max_bytes = bytes as u64;
        }
    }
    Ok(settings)
}
