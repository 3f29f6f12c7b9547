//! `--output docker-daemon:NAME:TAG`: the image loaded into the Docker daemon through its API
//! (`POST /images/load` with a docker archive) on its unix socket: `DOCKER_HOST=unix://PATH`,
//! else `/var/run/docker.sock`. What the daemon says is shown with control characters escaped
//! and cut, as any text a server sends.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// How long the daemon may take to answer once the image is sent.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// The longest part of the daemon's answer kept, and shown.
const ANSWER_LIMIT: u64 = 64 * 1024;

fn socket_path() -> Result<PathBuf, String> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => match host.strip_prefix("unix://") {
            Some(path) => Ok(PathBuf::from(path)),
            None => Err(format!(
                "DOCKER_HOST={host}: makes reaches the Docker daemon through a unix socket only (unix:///path)"
            )),
        },
        _ => Ok(PathBuf::from(DEFAULT_SOCKET)),
    }
}

/// Loads the image of `archive` into the daemon, tagged `reference`.
pub fn load(archive: &Path, reference: &str) -> Result<(), String> {
    let socket = socket_path()?;
    let staged = tempfile::NamedTempFile::new()
        .map_err(|e| format!("a temporary file for the Docker daemon: {e}"))?;
    crate::image_outputs::docker_archive_to(archive, staged.path(), reference)?;
    // The archive was renamed onto the temporary file's path: its size is the path's.
    let size = std::fs::metadata(staged.path())
        .map_err(|e| e.to_string())?
        .len();
    let failed = |what: &str, e: std::io::Error| {
        format!(
            "docker-daemon:{reference}: {what} {}: {e}{}",
            socket.display(),
            if e.kind() == std::io::ErrorKind::NotFound
                || e.kind() == std::io::ErrorKind::ConnectionRefused
            {
                " (is Docker running? DOCKER_HOST=unix:///PATH names another socket)"
            } else {
                ""
            }
        )
    };
    let mut stream = UnixStream::connect(&socket).map_err(|e| failed("cannot connect to", e))?;
    let _ = stream.set_read_timeout(Some(ANSWER_TIMEOUT));
    let head = format!(
        "POST /images/load?quiet=1 HTTP/1.1\r\nHost: docker\r\nUser-Agent: makes\r\nContent-Type: application/x-tar\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .map_err(|e| failed("cannot write to", e))?;
    let mut body = std::fs::File::open(staged.path()).map_err(|e| e.to_string())?;
    std::io::copy(&mut body, &mut stream).map_err(|e| failed("cannot send the image to", e))?;
    stream
        .flush()
        .map_err(|e| failed("cannot send the image to", e))?;
    let mut answer = BufReader::new(stream.take(ANSWER_LIMIT));
    let mut status_line = String::new();
    answer
        .read_line(&mut status_line)
        .map_err(|e| failed("no answer from", e))?;
    let mut rest = Vec::new();
    let _ = answer.read_to_end(&mut rest);
    let text = String::from_utf8_lossy(&rest);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    // The daemon reports a failed load as a 200 whose JSON stream holds an "error".
    if status != "200" || body.contains("\"error\"") {
        return Err(format!(
            "docker-daemon:{reference}: the Docker daemon refused the image: {} {}",
            shown(status_line.trim_end()),
            shown(body.trim())
        ));
    }
    Ok(())
}

/// A server's text as shown: control characters escaped, at most 512 characters.
fn shown(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 512 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
