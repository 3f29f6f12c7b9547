//! `--output`: the built image archive (an OCI layout and a docker archive at once) written
//! elsewhere, in skopeo's transports. Each output is written beside its place and renamed
//! into it, so a failure leaves the old one; an `oci:` layout keeps its other images.

use crate::cli::Output;
use crate::report::Failure;
use serde_json::{json, Value};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// What the archive says about its image.
struct ArchiveImage {
    /// The image's manifest descriptor in `index.json`.
    descriptor: Value,
    /// `index.json` as a whole.
    index: Value,
    /// The image manifest itself.
    manifest: Vec<u8>,
}

fn fail(path: &Path, what: impl std::fmt::Display) -> String {
    format!("{}: {what}", path.display())
}

/// A small file of the archive, by name.
fn read_member(archive: &Path, wanted: &str) -> Result<Option<Vec<u8>>, String> {
    let file = fs::File::open(archive).map_err(|e| fail(archive, e))?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    for entry in tar.entries().map_err(|e| fail(archive, e))? {
        let mut entry = entry.map_err(|e| fail(archive, e))?;
        let name = entry.path().map_err(|e| fail(archive, e))?.into_owned();
        if name == Path::new(wanted) {
            let mut data = Vec::new();
            entry
                .by_ref()
                .take(16 << 20)
                .read_to_end(&mut data)
                .map_err(|e| fail(archive, e))?;
            return Ok(Some(data));
        }
    }
    Ok(None)
}

fn json_member(archive: &Path, name: &str) -> Result<Value, String> {
    let bytes = read_member(archive, name)?
        .ok_or_else(|| fail(archive, format!("no {name}: not an image archive")))?;
    serde_json::from_slice(&bytes).map_err(|e| fail(archive, format!("{name}: {e}")))
}

/// `sha256:HEX` -> `HEX`, checked.
fn digest_hex(digest: &str) -> Option<&str> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn read_image(archive: &Path) -> Result<ArchiveImage, String> {
    let index = json_member(archive, "index.json")?;
    let descriptor = index["manifests"][0].clone();
    let hex = descriptor["digest"]
        .as_str()
        .and_then(digest_hex)
        .ok_or_else(|| fail(archive, "index.json names no manifest"))?;
    let manifest = read_member(archive, &format!("blobs/sha256/{hex}"))?
        .ok_or_else(|| fail(archive, "the manifest blob is missing"))?;
    Ok(ArchiveImage {
        descriptor,
        index,
        manifest,
    })
}

/// Writes `archive` to every output in turn.
pub fn write_outputs(archive: &Path, outputs: &[Output]) -> Result<(), Failure> {
    for output in outputs {
        let written = match output {
            // The image builder's writer: its error reaches the user whole.
            Output::OciDir(dir) => {
                makes_oci::write_oci_dir(archive, dir)?;
                Ok(())
            }
            Output::Oci { dir, tag } => add_to_layout(archive, dir, tag.as_deref()),
            Output::OciArchive { file, tag } => write_oci_archive(archive, file, tag.as_deref()),
            Output::DockerArchive { file, reference } => {
                write_docker_archive(archive, file, reference.as_deref())
            }
            Output::DockerDaemon { reference } => crate::docker_daemon::load(archive, reference),
            Output::Dir(dir) => write_dir(archive, dir),
        };
        // This module's own writers say in a sentence which file failed and how.
        written.map_err(Failure::message)?;
    }
    Ok(())
}

/// A temporary file beside `target`, renamed onto it by `finish`.
fn staged_file(target: &Path) -> Result<tempfile::NamedTempFile, String> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| fail(&parent, e))?;
    tempfile::Builder::new()
        .prefix(".makes-output-")
        .tempfile_in(&parent)
        .map_err(|e| fail(&parent, e))
}

fn finish(staged: tempfile::NamedTempFile, target: &Path) -> Result<(), String> {
    if target.is_dir() {
        return Err(fail(target, "is a directory"));
    }
    staged
        .persist(target)
        .map(|_| ())
        .map_err(|e| fail(target, e.error))
}

/// Calls `visit` with each regular file of `archive`: its name, its data and its size.
fn for_each_member(
    archive: &Path,
    mut visit: impl FnMut(&str, &mut dyn Read, u64) -> Result<(), String>,
) -> Result<(), String> {
    let file = fs::File::open(archive).map_err(|e| fail(archive, e))?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    for entry in tar.entries().map_err(|e| fail(archive, e))? {
        let mut entry = entry.map_err(|e| fail(archive, e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map_err(|e| fail(archive, e))?
            .to_string_lossy()
            .into_owned();
        let size = entry.size();
        visit(&name, &mut entry, size)?;
    }
    Ok(())
}

/// A deterministic tar header for a regular file.
fn file_header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn append(
    tar: &mut tar::Builder<impl Write>,
    name: &str,
    data: &mut dyn Read,
    size: u64,
) -> Result<(), String> {
    let mut header = file_header(size);
    tar.append_data(&mut header, name, data)
        .map_err(|e| format!("writing {name}: {e}"))
}

/// The descriptor of the image under `tag` (its own tag when none is given).
fn named_descriptor(image: &ArchiveImage, tag: Option<&str>) -> Value {
    let mut descriptor = image.descriptor.clone();
    if let Some(tag) = tag {
        descriptor["annotations"][REF_NAME] = json!(tag);
    }
    descriptor
}

/// `oci:DIR[:TAG]`: the image's blobs and its descriptor added to the layout at DIR (made when
/// missing); a descriptor of the same tag is replaced, the others are kept.
fn add_to_layout(archive: &Path, dir: &Path, tag: Option<&str>) -> Result<(), String> {
    let image = read_image(archive)?;
    if dir.exists() {
        let empty = fs::read_dir(dir)
            .map_err(|e| fail(dir, e))?
            .next()
            .is_none();
        if !empty && !dir.join("oci-layout").is_file() {
            return Err(fail(dir, "exists and is not an OCI layout"));
        }
    }
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(|e| fail(&blobs, e))?;
    let layout_file = dir.join("oci-layout");
    if !layout_file.is_file() {
        fs::write(&layout_file, br#"{"imageLayoutVersion":"1.0.0"}"#)
            .map_err(|e| fail(&layout_file, e))?;
    }
    for_each_member(archive, |name, data, _| {
        let Some(hex) = name.strip_prefix("blobs/sha256/") else {
            return Ok(());
        };
        if digest_hex(&format!("sha256:{hex}")).is_none() {
            return Ok(());
        }
        let target = blobs.join(hex);
        if target.is_file() {
            return Ok(()); // Blobs are named by their digest: the one there is the same.
        }
        let mut staged = staged_file(&target)?;
        std::io::copy(data, &mut staged).map_err(|e| fail(&target, e))?;
        finish(staged, &target)
    })?;
    let index_file = dir.join("index.json");
    let mut index = match fs::read(&index_file) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes).map_err(|e| fail(&index_file, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            json!({ "schemaVersion": 2, "manifests": [] })
        }
        Err(e) => return Err(fail(&index_file, e)),
    };
    let descriptor = named_descriptor(&image, tag);
    let name = descriptor["annotations"][REF_NAME].clone();
    let Some(manifests) = index["manifests"].as_array_mut() else {
        return Err(fail(&index_file, "has no manifests list"));
    };
    manifests.retain(|m| name.is_null() || m["annotations"][REF_NAME] != name);
    manifests.push(descriptor);
    let mut staged = staged_file(&index_file)?;
    serde_json::to_writer(&mut staged, &index).map_err(|e| fail(&index_file, e))?;
    finish(staged, &index_file)
}

/// `oci-archive:FILE[:TAG]`: a tar of a layout holding the image alone.
fn write_oci_archive(archive: &Path, file: &Path, tag: Option<&str>) -> Result<(), String> {
    let image = read_image(archive)?;
    let mut index = image.index.clone();
    index["manifests"] = json!([named_descriptor(&image, tag)]);
    let index_bytes = serde_json::to_vec(&index).map_err(|e| e.to_string())?;
    let staged = staged_file(file)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(staged));
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    append(
        &mut tar,
        "oci-layout",
        &mut &layout[..],
        layout.len() as u64,
    )?;
    append(
        &mut tar,
        "index.json",
        &mut &index_bytes[..],
        index_bytes.len() as u64,
    )?;
    for_each_member(archive, |name, data, size| {
        if name.starts_with("blobs/sha256/") {
            append(&mut tar, name, data, size)?;
        }
        Ok(())
    })?;
    let staged = into_file(tar, file)?;
    finish(staged, file)
}

fn into_file(
    tar: tar::Builder<std::io::BufWriter<tempfile::NamedTempFile>>,
    file: &Path,
) -> Result<tempfile::NamedTempFile, String> {
    tar.into_inner()
        .map_err(|e| fail(file, e))?
        .into_inner()
        .map_err(|e| fail(file, e.error()))
}

/// `docker-archive:FILE[:NAME:TAG]`: the archive as `docker load` takes it, tagged
/// NAME:TAG when given.
fn write_docker_archive(
    archive: &Path,
    file: &Path,
    reference: Option<&str>,
) -> Result<(), String> {
    let mut docker_manifest = json_member(archive, "manifest.json")?;
    if let Some(reference) = reference {
        docker_manifest[0]["RepoTags"] = json!([reference]);
    }
    let manifest_bytes = serde_json::to_vec(&docker_manifest).map_err(|e| e.to_string())?;
    let staged = staged_file(file)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(staged));
    append(
        &mut tar,
        "manifest.json",
        &mut &manifest_bytes[..],
        manifest_bytes.len() as u64,
    )?;
    for_each_member(archive, |name, data, size| {
        if name.starts_with("blobs/sha256/") {
            append(&mut tar, name, data, size)?;
        }
        Ok(())
    })?;
    let staged = into_file(tar, file)?;
    finish(staged, file)
}

/// Writes the docker archive of `archive` tagged `reference` to `out` (for the daemon).
pub fn docker_archive_to(archive: &Path, out: &Path, reference: &str) -> Result<(), String> {
    write_docker_archive(archive, out, Some(reference))
}

/// `dir:DIR`: skopeo's directory transport: `version`, `manifest.json`, and each blob as a
/// file named by its hex digest.
fn write_dir(archive: &Path, dir: &Path) -> Result<(), String> {
    let image = read_image(archive)?;
    if let Ok(mut listing) = fs::read_dir(dir) {
        if listing.next().is_some() && !dir.join("version").is_file() {
            return Err(fail(dir, "exists and is not a dir: image directory"));
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| fail(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".makes-dir-")
        .tempdir_in(&parent)
        .map_err(|e| fail(&parent, e))?;
    let manifest: Value = serde_json::from_slice(&image.manifest).map_err(|e| e.to_string())?;
    let mut wanted: Vec<String> = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain([&manifest["config"]])
        .filter_map(|d| d["digest"].as_str().and_then(digest_hex).map(str::to_owned))
        .collect();
    wanted.sort();
    for_each_member(archive, |name, data, _| {
        match name.strip_prefix("blobs/sha256/") {
            Some(hex) if wanted.binary_search(&hex.to_owned()).is_ok() => {
                let target = staging.path().join(hex);
                let mut out = fs::File::create(&target).map_err(|e| fail(&target, e))?;
                std::io::copy(data, &mut out).map_err(|e| fail(&target, e))?;
            }
            _ => {}
        }
        Ok(())
    })?;
    let write = |name: &str, bytes: &[u8]| {
        let target = staging.path().join(name);
        fs::write(&target, bytes).map_err(|e| fail(&target, e))
    };
    write("manifest.json", &image.manifest)?;
    write("version", b"Directory Transport Version: 1.1\n")?;
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| fail(dir, e))?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let staged = staging.path();
        fs::set_permissions(staged, fs::Permissions::from_mode(0o755))
            .map_err(|e| fail(staged, e))?;
    }
    let staged = staging.keep();
    fs::rename(&staged, dir).map_err(|e| fail(dir, e))
}
