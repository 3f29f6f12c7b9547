//! `dockerTools.streamLayeredImage`'s output: an executable that writes the image archive to
//! its standard output (`"$(makes JOB)" | docker load`), as nixpkgs' stream script does. Here
//! it is one file: a three-line `/bin/sh` header that `exec`s `tail` on itself, followed by
//! the archive's bytes. The shell never reads past the `exec` line, the file depends on the
//! archive alone (byte-identical across builds), and it works wherever the store is on disk.

use crate::error::OciError;
use makes_spec::ImageSpec;
use std::io::Write;
use std::path::Path;

/// The header for `spec` whose archive starts right after it: `tail -c +N` counts from 1.
fn header(spec: &ImageSpec) -> String {
    let text = |offset: usize| {
        format!(
            "#!/bin/sh\n# dockerTools.streamLayeredImage {}:{}: writes the image, a docker archive that is also an OCI image layout, to standard output.\nexec tail -c +{offset} -- \"$0\"\n",
            spec.name, spec.tag
        )
    };
    // The offset's own digits change the header's length: settle on a fixed point.
    let mut offset = text(0).len() + 1;
    while text(offset).len() + 1 != offset {
        offset = text(offset).len() + 1;
    }
    text(offset)
}

/// Writes the header and then the archive at `archive` into the new file `out_file`, executable.
pub(crate) fn write_stream_script(
    spec: &ImageSpec,
    archive: &Path,
    out_file: &Path,
) -> Result<(), OciError> {
    let fail = |e: std::io::Error| OciError::io(out_file)(e);
    let mut out = std::fs::File::create(out_file).map_err(fail)?;
    out.write_all(header(spec).as_bytes()).map_err(fail)?;
    let mut input = std::fs::File::open(archive).map_err(OciError::io(archive))?;
    std::io::copy(&mut input, &mut out).map_err(fail)?;
    out.sync_all().map_err(fail)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(out_file, std::fs::Permissions::from_mode(0o555)).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_points_just_past_the_header() {
        for name in [
            "a",
            "name-long-enough-to-cross-a-power-of-ten-in-length-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ] {
            let spec = ImageSpec {
                name: name.into(),
                ..ImageSpec::default()
            };
            let h = header(&spec);
            let offset: usize = h
                .rsplit("tail -c +")
                .next()
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .expect("an offset");
            assert_eq!(offset, h.len() + 1, "{h}");
        }
    }

    #[test]
    fn running_it_writes_the_archive_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("a.tar");
        let payload: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        std::fs::write(&archive, &payload).expect("write");
        let script = dir.path().join("stream");
        write_stream_script(&ImageSpec::default(), &archive, &script).expect("script");
        let out = std::process::Command::new(&script).output().expect("runs");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, payload);
    }
}
