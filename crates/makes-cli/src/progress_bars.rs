//! Progress on stderr when it is a terminal: one indicatif bar per layer being written.

use indicatif::{ProgressBar, ProgressStyle};
use makes_oci::LayerProgress;
use std::sync::Mutex;

/// One indicatif bar per layer on stderr.
#[derive(Default)]
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

impl LayerProgress for Bars {
    fn start(&self, index: usize, count: usize, label: &str, total: u64) {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("layer {}/{count}", index + 1));
        bar.set_message(label.to_string());
        if let Ok(mut cur) = self.current.lock() {
            *cur = Some(bar);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(cur) = self.current.lock() {
            if let Some(bar) = cur.as_ref() {
                bar.inc(bytes);
            }
        }
    }

    fn finish(&self, cached: bool, size: u64) {
        if let Ok(mut cur) = self.current.lock() {
            if let Some(bar) = cur.take() {
                let how = if cached { "cached" } else { "written" };
                bar.finish_with_message(format!(
                    "{} ({how}, {})",
                    bar.message(),
                    indicatif::HumanBytes(size)
                ));
            }
        }
    }
}
