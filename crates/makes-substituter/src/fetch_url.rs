//! Plain file downloads (`fetchUrl`), with the same HTTP client, TLS roots and retries as the
//! binary caches. The caller checks the content's hash.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::http::{Failure, Fetched, Http};

/// Downloads `url` into the new file `out_file`; returns its size.
pub fn fetch_url(url: &str, out_file: &Path) -> Result<u64, String> {
    let http = Http::new(&[], 3, Duration::from_millis(500)).map_err(|e| e.to_string())?;
    let mut body = match http.get(url, &|_, _, _| {}) {
        Ok(Fetched::Body(body)) => body,
        Ok(Fetched::Missing(status)) | Err(Failure::Status(status)) => {
            return Err(format!("the server answered HTTP {status}"))
        }
        Err(Failure::Unreachable(reason)) => return Err(format!("unreachable: {reason}")),
    };
    let mut file = std::fs::File::create(out_file).map_err(|e| e.to_string())?;
    let size = std::io::copy(&mut body, &mut file).map_err(|e| format!("download cut: {e}"))?;
    file.flush().map_err(|e| e.to_string())?;
    Ok(size)
}
