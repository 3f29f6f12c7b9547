//! Progress on stderr when it is a terminal: one indicatif bar per layer being written.

use indicatif::{ProgressBar, ProgressStyle};
use makes_oci::LayerProgress;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One indicatif bar per layer on stderr.
#[derive(Default)]
pub struct Bars {
    /// The bars of the layers not finished yet (a layer is still being compressed while the
    /// next one is read), by layer index, and the index of the last one started.
    bars: Mutex<(BTreeMap<usize, ProgressBar>, usize)>,
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
        if let Ok(mut bars) = self.bars.lock() {
            bars.0.insert(index, bar);
            bars.1 = index;
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(bars) = self.bars.lock() {
            if let Some(bar) = bars.0.get(&bars.1) {
                bar.inc(bytes);
            }
        }
    }

    fn finish(&self, index: usize, cached: bool, size: u64) {
        if let Ok(mut bars) = self.bars.lock() {
            if let Some(bar) = bars.0.remove(&index) {
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
