//! What the user sees while outputs are made. Without a terminal: plain lines on stderr, one
//! when an activity starts, one when it ends (with elapsed time and size), and for a long one
//! a "still ..." line every [`PLAIN_INTERVAL`]. On a terminal: one spinner per running activity
//! with its elapsed time and the builder's last line. With `-L`, every line builders print,
//! prefixed by the derivation's name. With `-q`, nothing. Never on stdout.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use makes_store::{Activity, ActivityKind, BuildObserver, PathInfo, StorePath};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The least time between two plain lines about one running activity.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

/// How often [`BuildProgress::tick_until`] looks for activities to report.
const TICK: Duration = Duration::from_millis(200);

/// The longest builder line shown beside a spinner or in a "still" line, in characters.
const SHOWN_LINE: usize = 100;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    Quiet,
    Lines,
    Bars,
}

struct Running {
    /// Its entry among what makes would stop on SIGINT.
    interrupt_id: u64,
    started: Instant,
    last_report: Instant,
    last_line: String,
    bar: Option<ProgressBar>,
}

pub struct BuildProgress {
    display: Display,
    print_logs: bool,
    verbose: bool,
    bars: Option<MultiProgress>,
    running: Mutex<BTreeMap<StorePath, Running>>,
}

impl BuildProgress {
    pub fn new(display: Display, print_logs: bool, verbose: bool) -> Self {
        let bars = (display == Display::Bars)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        BuildProgress {
            display,
            print_logs,
            verbose,
            bars,
            running: Mutex::new(BTreeMap::new()),
        }
    }

    fn say(&self, line: &str) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(line);
            }
            None => say!("{line}"),
        }
    }

    /// Prints a "still ..." line for each activity not reported for [`PLAIN_INTERVAL`]; called
    /// about once a second by [`BuildProgress::tick_until`].
    fn tick(&self) {
        if self.display != Display::Lines {
            return;
        }
        let now = Instant::now();
        let mut lines = Vec::new();
        if let Ok(mut running) = self.running.lock() {
            for (path, r) in running.iter_mut() {
                if now.duration_since(r.last_report) >= PLAIN_INTERVAL {
                    r.last_report = now;
                    let mut line = format!(
                        "makes: still making {} ({})",
                        path.name,
                        seconds(now.duration_since(r.started))
                    );
                    if !r.last_line.is_empty() && !self.print_logs {
                        line.push_str(": ");
                        line.push_str(&r.last_line);
                    }
                    lines.push(line);
                }
            }
        }
        for line in lines {
            self.say(&line);
        }
    }

    /// Ticks every [`TICK`] until `stop`'s sender is dropped (or sends). It waits on the
    /// channel rather than sleeping, so that the build's end wakes it at once: a sleeping
    /// ticker held every build's exit up to a whole tick (on average half of one, 0.1 s, a
    /// quarter of a 5,000-path image's one-file change).
    pub fn tick_until(&self, stop: Receiver<()>) {
        self.tick_every(TICK, stop);
    }

    fn tick_every(&self, period: Duration, stop: Receiver<()>) {
        while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(period) {
            self.tick();
        }
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn verb(kind: ActivityKind) -> (&'static str, &'static str) {
    match kind {
        ActivityKind::Build => ("building", "built"),
        ActivityKind::Image => ("writing image", "wrote image"),
        ActivityKind::Pull => ("pulling", "pulled"),
        ActivityKind::Fetch => ("fetching", "fetched"),
    }
}

/// What the activity is, in a few words: the derivation's name, or what is pulled or fetched.
fn subject(activity: &Activity) -> String {
    match &activity.detail {
        Some(detail) => format!("{} ({detail})", activity.path.name),
        None => activity.path.name.clone(),
    }
}

/// A builder's line as shown: control characters escaped, cut at [`SHOWN_LINE`] characters.
fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i >= SHOWN_LINE {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl BuildObserver for BuildProgress {
    fn started(&self, activity: &Activity) {
        let (doing, _) = verb(activity.kind);
        let interrupt_id = crate::interrupts::started(format!("{doing} {}", subject(activity)));
        let mut line = format!("makes: {doing} {}", subject(activity));
        if self.verbose {
            line.push_str(&format!(" -> {}", activity.path.to_absolute()));
        }
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {prefix}  {wide_msg:.dim}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(format!("{doing} {}", subject(activity)));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        if bar.is_none() && self.display == Display::Lines {
            self.say(&line);
        }
        let now = Instant::now();
        if let Ok(mut running) = self.running.lock() {
            running.insert(
                activity.path.clone(),
                Running {
                    interrupt_id,
                    started: now,
                    last_report: now,
                    last_line: String::new(),
                    bar,
                },
            );
        }
    }

    fn finished(&self, activity: &Activity, elapsed: Duration, outcome: Result<&PathInfo, &str>) {
        let entry = self
            .running
            .lock()
            .ok()
            .and_then(|mut r| r.remove(&activity.path));
        if let Some(entry) = entry {
            crate::interrupts::finished(entry.interrupt_id);
            if let Some(bar) = entry.bar {
                bar.finish_and_clear();
            }
        }
        if self.display == Display::Quiet {
            return;
        }
        let (doing, done) = verb(activity.kind);
        if outcome.is_err() && crate::interrupts::flag().load(Ordering::SeqCst) {
            self.say(&format!("makes: stopped {doing} {}", subject(activity)));
            return;
        }
        let line = match outcome {
            Ok(info) => format!(
                "makes: {done} {} in {} ({})",
                subject(activity),
                seconds(elapsed),
                indicatif::HumanBytes(info.nar_size)
            ),
            // The error itself is reported once, at the end.
            Err(_) => format!(
                "makes: failed {doing} {} after {}",
                subject(activity),
                seconds(elapsed)
            ),
        };
        self.say(&line);
    }

    fn wants_logs(&self) -> bool {
        self.print_logs || self.display != Display::Quiet
    }

    fn log_line(&self, activity: &Activity, line: &[u8]) {
        let text = shown(line);
        if self.print_logs {
            self.say(&format!("{}> {text}", activity.path.name));
        }
        if let Ok(mut running) = self.running.lock() {
            if let Some(r) = running.get_mut(&activity.path) {
                if let Some(bar) = &r.bar {
                    bar.set_message(text.clone());
                }
                r.last_line = text;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_lines_escape_control_characters_and_are_cut() {
        assert_eq!(shown(b"a\x1b[31mb"), "a\\u{1b}[31mb");
        let long = vec![b'x'; 300];
        assert_eq!(shown(&long).chars().count(), SHOWN_LINE + 1);
    }

    #[test]
    fn the_ticker_stops_as_soon_as_its_sender_is_dropped_not_at_its_next_tick() {
        let progress = BuildProgress::new(Display::Quiet, false, false);
        let (stop, stopped) = std::sync::mpsc::channel();
        let started = Instant::now();
        std::thread::scope(|scope| {
            let ticker = scope.spawn(|| progress.tick_every(Duration::from_secs(600), stopped));
            // Let the ticker start waiting, so that the drop has to wake it.
            std::thread::sleep(Duration::from_millis(50));
            drop(stop);
            ticker.join().expect("the ticker does not panic");
        });
        // A ticker that slept through its period would take 600 s.
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }
}
