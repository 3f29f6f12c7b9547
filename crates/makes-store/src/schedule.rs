//! Build scheduling: the outputs a target needs are planned first (one walk of the recipes,
//! on the caller's thread, since recipes live in the evaluation's single-threaded tables),
//! then built with up to `max_jobs` at once, each as soon as its inputs are valid. A build
//! depends only on its inputs, so the results are those of a serial run.
//!
//! After a failure or an interruption no new build starts; those already running finish
//! (an interruption has killed their builders by then) and the first error is returned.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::build_log::BuildLines;
use crate::local::LocalStore;
use crate::path::{PathInfo, StorePath};
use crate::recipes::{build_recipe, Builders, RealiseError, Recipe, Recipes};

/// What kind of work an activity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// A `makeDerivation` builder in the sandbox.
    Build,
    /// An image assembled by the image builder.
    Image,
    /// A registry pull.
    Pull,
    /// A download (`fetchUrl`, `fetchArchive`).
    Fetch,
}

/// One output being made.
#[derive(Debug, Clone)]
pub struct Activity {
    pub path: StorePath,
    pub kind: ActivityKind,
    /// What the activity is about beyond the path: a URL, an image reference.
    pub detail: Option<String>,
}

/// Told of each activity as it starts and ends (the CLI draws it; the store never prints).
pub trait BuildObserver: Sync {
    fn started(&self, activity: &Activity);
    /// The activity ended: with what it made, or the failure's message.
    fn finished(&self, activity: &Activity, elapsed: Duration, outcome: Result<&PathInfo, &str>);
    /// Whether [`BuildObserver::log_line`] is wanted.
    fn wants_logs(&self) -> bool {
        false
    }
    /// One line of a builder's output, without its newline, as the builder prints it (a
    /// longer line comes in pieces of [`crate::MAX_LINE_BYTES`]).
    fn log_line(&self, _activity: &Activity, _line: &[u8]) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl BuildObserver for Silent {
    fn started(&self, _: &Activity) {}
    fn finished(&self, _: &Activity, _: Duration, _: Result<&PathInfo, &str>) {}
}

/// How `realise` runs.
pub struct RealiseOptions<'a> {
    /// The most builds that run at once (at least one).
    pub max_jobs: usize,
    pub observer: &'a dyn BuildObserver,
    /// Set (by a signal handler) to stop starting builds.
    pub interrupted: &'a AtomicBool,
}

/// One output to make, with the outputs it waits for.
struct Planned {
    recipe: Recipe,
    waits_for: BTreeSet<StorePath>,
}

/// The outputs that must be made for `target`, keyed by path; paths only the host's Nix store
/// has are copied in while planning.
fn plan(
    store: &LocalStore,
    recipes: &Recipes,
    target: &StorePath,
) -> Result<BTreeMap<StorePath, Planned>, RealiseError> {
    let mut planned = BTreeMap::new();
    let mut done = BTreeSet::new();
    // An explicit stack: a long chain of inputs must not exhaust the thread's stack.
    let mut stack = vec![(target.clone(), false)];
    while let Some((path, inputs_planned)) = stack.pop() {
        if done.contains(&path) {
            continue;
        }
        if inputs_planned {
            done.insert(path);
            continue;
        }
        if planned.contains_key(&path) {
            // Reached again through another input while its own inputs are being planned.
            continue;
        }
        if store.is_valid(&path) {
            done.insert(path);
            continue;
        }
        let Some(recipe) = recipes.get(&path) else {
            // Not made by this evaluation: a path of the host's Nix store, read from there.
            if store.import_from_nix(&path)?.is_none() {
                return Err(RealiseError::UnknownOutput {
                    path: path.to_absolute(),
                });
            }
            done.insert(path);
            continue;
        };
        let mut waits_for = BTreeSet::new();
        let inputs = recipe.inputs();
        stack.push((path.clone(), true));
        for input in inputs {
            if !done.contains(&input) && !planned.contains_key(&input) {
                stack.push((input.clone(), false));
            }
            waits_for.insert(input);
        }
        planned.insert(path, Planned { recipe, waits_for });
    }
    // Only planned outputs are waited for: the others are valid now.
    let planned_paths: BTreeSet<StorePath> = planned.keys().cloned().collect();
    for entry in planned.values_mut() {
        entry.waits_for.retain(|p| planned_paths.contains(p));
    }
    Ok(planned)
}

fn activity_of(path: &StorePath, recipe: &Recipe) -> Activity {
    let (kind, detail) = match recipe {
        Recipe::Derivation(_) => (ActivityKind::Build, None),
        Recipe::Image(_) => (ActivityKind::Image, None),
        Recipe::Pull(spec) => (
            ActivityKind::Pull,
            Some(format!("{}@{}", spec.image_name, spec.image_digest)),
        ),
        Recipe::Fetch(spec) => (ActivityKind::Fetch, Some(spec.url.clone())),
    };
    Activity {
        path: path.clone(),
        kind,
        detail,
    }
}

/// Builds one output, telling the observer (and, for a builder, following its log).
fn observed_build(
    store: &LocalStore,
    builders: &Builders,
    path: &StorePath,
    recipe: Recipe,
    options: &RealiseOptions,
) -> Result<PathInfo, RealiseError> {
    let activity = activity_of(path, &recipe);
    let observer = options.observer;
    observer.started(&activity);
    let start = Instant::now();
    let show = |line: &[u8]| observer.log_line(&activity, line);
    let lines: BuildLines<'_> = match activity.kind == ActivityKind::Build && observer.wants_logs()
    {
        true => Some(&show),
        false => None,
    };
    let result = build_recipe(store, builders, path, recipe, lines);
    let message = result.as_ref().err().map(ToString::to_string);
    let outcome = match (&result, &message) {
        (Ok(info), _) => Ok(info),
        (Err(_), Some(m)) => Err(m.as_str()),
        (Err(_), None) => Err(""),
    };
    observer.finished(&activity, start.elapsed(), outcome);
    result
}

/// Makes `target` valid: plans what it needs, then builds it all, up to `max_jobs` at once.
pub fn realise_scheduled(
    store: &LocalStore,
    recipes: &Recipes,
    builders: &Builders,
    target: &StorePath,
    options: &RealiseOptions,
) -> Result<PathInfo, RealiseError> {
    let mut waiting = plan(store, recipes, target)?;
    let max_jobs = options.max_jobs.max(1);
    let mut first_error: Option<RealiseError> = None;
    std::thread::scope(|scope| {
        let (report, results) = mpsc::channel::<(StorePath, Result<(), RealiseError>)>();
        let mut running = 0usize;
        loop {
            let stopping = first_error.is_some() || options.interrupted.load(Ordering::SeqCst);
            if !stopping {
                let ready: Vec<StorePath> = waiting
                    .iter()
                    .filter(|(_, p)| p.waits_for.is_empty())
                    .map(|(path, _)| path.clone())
                    .take(max_jobs.saturating_sub(running))
                    .collect();
                for path in ready {
                    let Some(entry) = waiting.remove(&path) else {
                        continue;
                    };
                    running += 1;
                    let report = report.clone();
                    scope.spawn(move || {
                        let result = observed_build(store, builders, &path, entry.recipe, options);
                        // The receiver outlives every build: it is dropped after the loop.
                        let _ = report.send((path, result.map(|_| ())));
                    });
                }
            }
            if running == 0 {
                break;
            }
            let Ok((path, result)) = results.recv() else {
                break;
            };
            running -= 1;
            match result {
                Ok(()) => {
                    for entry in waiting.values_mut() {
                        entry.waits_for.remove(&path);
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    if options.interrupted.load(Ordering::SeqCst) && !store.is_valid(target) {
        return Err(RealiseError::Interrupted);
    }
    if let Some(stuck) = waiting.keys().next() {
        // Only a cycle among recipes leaves outputs waiting with nothing running.
        return Err(RealiseError::UnknownOutput {
            path: stuck.to_absolute(),
        });
    }
    Ok(store.path_info(target)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::make_store_path;
    use crate::recipes::{ImageBuilder, ImagePuller, UrlFetcher};
    use crate::PluginError;
    use makes_spec::{FetchSpec, ImageSpec, PullSpec};
    use sha2::{Digest, Sha256};
    use std::path::Path;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    /// Downloads that write their URL as the file, each taking a while, counting how many run
    /// at once.
    #[derive(Default)]
    struct SlowFetcher {
        running: AtomicUsize,
        most: AtomicUsize,
    }

    impl UrlFetcher for SlowFetcher {
        fn fetch(&self, url: &str, out_file: &Path) -> Result<(), PluginError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
            self.running.fetch_sub(1, Ordering::SeqCst);
            if url.contains("broken") {
                return Err(PluginError::message("refused"));
            }
            std::fs::write(out_file, url).map_err(PluginError::from_error)
        }

        fn fetch_archive(&self, _: &str, _: &Path, _: bool) -> Result<(), PluginError> {
            Err(PluginError::message("no archives here"))
        }
    }

    /// Images that are a file naming their contents; pulls are not used.
    struct ListingImages;

    impl ImageBuilder for ListingImages {
        fn build_image(
            &self,
            spec: &ImageSpec,
            _: &[PathInfo],
            out: &Path,
        ) -> Result<Option<crate::FileNar>, PluginError> {
            // No NAR hash of its own: the store hashes the file.
            let listing: Vec<String> = spec.contents.iter().map(StorePath::to_absolute).collect();
            std::fs::write(out, listing.join("\n")).map_err(PluginError::from_error)?;
            Ok(None)
        }
    }

    impl ImagePuller for ListingImages {
        fn pull_image(&self, _: &PullSpec, _: &Path) -> Result<(), PluginError> {
            Err(PluginError::message("unused"))
        }
    }

    /// Records what it is told.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl BuildObserver for Recorder {
        fn started(&self, activity: &Activity) {
            if let Ok(mut events) = self.0.lock() {
                events.push(format!("start {}", activity.path.name));
            }
        }
        fn finished(&self, activity: &Activity, _: Duration, outcome: Result<&PathInfo, &str>) {
            if let Ok(mut events) = self.0.lock() {
                events.push(format!("end {} {}", activity.path.name, outcome.is_ok()));
            }
        }
    }

    /// A store with three fetches; returns the store, the recipes and the paths.
    fn three_fetches(dir: &Path, urls: [&str; 3]) -> (LocalStore, Recipes, Vec<StorePath>) {
        let store = LocalStore::open(dir).expect("store");
        let recipes = Recipes::default();
        let mut paths = Vec::new();
        for (i, url) in urls.iter().enumerate() {
            let hash: [u8; 32] = Sha256::digest(url.as_bytes()).into();
            let name = format!("file-{i}");
            let path = make_store_path("source", &hash, &name);
            let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
            recipes.insert(
                path.clone(),
                Recipe::Fetch(FetchSpec {
                    url: (*url).to_owned(),
                    sha256: hex,
                    name,
                    unpack: false,
                    strip_root: false,
                }),
            );
            paths.push(path);
        }
        (store, recipes, paths)
    }

    /// An image recipe whose contents are `paths`; returns its path.
    fn image_of(recipes: &Recipes, paths: &[StorePath]) -> StorePath {
        let spec = ImageSpec {
            contents: paths.to_vec(),
            ..ImageSpec::default()
        };
        let path = make_store_path("output:out", &[7; 32], "image.tar");
        recipes.insert(path.clone(), Recipe::Image(spec));
        path
    }

    fn realise_with(
        store: &LocalStore,
        recipes: &Recipes,
        target: &StorePath,
        fetcher: &SlowFetcher,
        max_jobs: usize,
        observer: &dyn BuildObserver,
    ) -> Result<PathInfo, RealiseError> {
        let builders = Builders {
            images: &ListingImages,
            puller: &ListingImages,
            fetcher,
        };
        let interrupted = AtomicBool::new(false);
        let options = RealiseOptions {
            max_jobs,
            observer,
            interrupted: &interrupted,
        };
        realise_scheduled(store, recipes, &builders, target, &options)
    }

    #[test]
    fn the_planned_outputs_of_a_target_are_what_it_still_needs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, recipes, paths) = three_fetches(dir.path(), ["a", "b", "c"]);
        let image = image_of(&recipes, &paths);
        let planned = plan(&store, &recipes, &image).expect("plan");
        assert_eq!(planned.len(), 4);
        assert_eq!(planned[&image].waits_for.len(), 3);
        let fetcher = SlowFetcher::default();
        realise_with(&store, &recipes, &paths[0], &fetcher, 2, &Silent).expect("one fetch");
        let planned = plan(&store, &recipes, &image).expect("plan");
        assert_eq!(planned.len(), 3, "the valid input is not planned again");
        assert_eq!(planned[&image].waits_for.len(), 2);
    }

    #[test]
    fn independent_inputs_run_at_once_up_to_max_jobs_and_the_target_after_them() {
        for (max_jobs, expected) in [(3, 3), (2, 2), (1, 1)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let (store, recipes, paths) = three_fetches(dir.path(), ["a", "b", "c"]);
            let image = image_of(&recipes, &paths);
            let fetcher = SlowFetcher::default();
            let recorder = Recorder::default();
            realise_with(&store, &recipes, &image, &fetcher, max_jobs, &recorder)
                .expect("realised");
            assert_eq!(
                fetcher.most.load(Ordering::SeqCst),
                expected,
                "-j {max_jobs}"
            );
            let events = recorder.0.lock().expect("events").clone();
            assert_eq!(events.len(), 8);
            assert_eq!(events[6..], ["start image.tar", "end image.tar true"]);
            assert!(paths.iter().all(|p| store.is_valid(p)));
        }
    }

    #[test]
    fn a_failed_input_stops_the_target_and_is_the_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, recipes, paths) = three_fetches(dir.path(), ["a", "broken", "c"]);
        let image = image_of(&recipes, &paths);
        let fetcher = SlowFetcher::default();
        let recorder = Recorder::default();
        let result = realise_with(&store, &recipes, &image, &fetcher, 3, &recorder);
        let Err(RealiseError::Fetch { source, .. }) = &result else {
            panic!("the broken download is the error: {:?}", result.err());
        };
        assert_eq!(source.to_string(), "refused");
        assert!(!store.is_valid(&image) && !store.is_valid(&paths[1]));
        let events = recorder.0.lock().expect("events").clone();
        assert!(
            !events.iter().any(|e| e.contains("image.tar")),
            "{events:?}"
        );
    }
}
