//! The usage history of one account: `profiles/<name>/usage-history.jsonl`, one short JSON
//! line per sample (time, each window's used percent, length and reset, `limited_until`,
//! credits). Samples are appended (a line at a time, never a rewrite per sample); a sample
//! that repeats the previous figures within [`REPEAT_AFTER`] seconds is not written; samples
//! older than [`KEEP`] seconds are dropped by an atomic rewrite when the oldest one is a day
//! past that. A damaged line or file is skipped with one warning, never an error. The file
//! lives in the profile's folder, so it moves with a rename and goes with a remove.

use super::{Credits, Usage, UsageWindow};
use crate::files::{self, FileError};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file name inside a profile folder.
pub const FILE_NAME: &str = "usage-history.jsonl";
/// How long samples are kept (30 days, in seconds).
pub const KEEP: i64 = 30 * 86_400;
/// A sample with the previous sample's figures is written only when the previous one is at
/// least this old (seconds), so a busy endpoint adds no run of equal lines.
pub const REPEAT_AFTER: i64 = 30 * 60;
/// How far past [`KEEP`] the oldest sample may be before the file is rewritten without the
/// old ones (one rewrite a day at most).
const PRUNE_SLACK: i64 = 86_400;
/// Two reset times closer than this (seconds) are the same reset: a reset computed from
/// "resets in N seconds" moves by a second or two between answers.
const RESET_JITTER: i64 = 120;
/// A line longer than this is damaged.
const MAX_LINE: usize = 4096;
/// The largest history file read (far above 30 days of samples).
const MAX_FILE: u64 = 64 * 1024 * 1024;
/// How much of the file's end is read to find the last sample.
const TAIL: u64 = 8 * 1024;

/// One rate-limit window in a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSample {
    /// How much of the window was used, 0–100.
    #[serde(rename = "used")]
    pub used_percent: f64,
    /// The window's length in minutes, when known.
    #[serde(rename = "min", default, skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<u64>,
    /// When the window resets (unix seconds), when known.
    #[serde(rename = "reset", default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<i64>,
}

impl WindowSample {
    /// The sample of a window.
    pub fn of(w: &UsageWindow) -> Self {
        Self {
            used_percent: w.used_percent,
            window_minutes: w.window_minutes,
            resets_at: w.resets_at,
        }
    }

    /// Whether it shows the same figures as `other` (a reset time that moved by a second
    /// or two is the same reset).
    fn same_as(&self, other: &WindowSample) -> bool {
        self.used_percent == other.used_percent
            && self.window_minutes == other.window_minutes
            && match (self.resets_at, other.resets_at) {
                (Some(a), Some(b)) => (a - b).abs() < RESET_JITTER,
                (a, b) => a == b,
            }
    }
}

/// One line of the history: the figures known at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When the figures were read (unix seconds).
    #[serde(rename = "t")]
    pub at: i64,
    /// The short window (5 h on paid plans).
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<WindowSample>,
    /// The long window (a week).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<WindowSample>,
    /// Until when the account was limited (unix seconds), if it was.
    #[serde(rename = "lim", default, skip_serializing_if = "Option::is_none")]
    pub limited_until: Option<i64>,
    /// Credits, when reported.
    #[serde(rename = "cr", default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
}

impl Sample {
    /// The sample of what `usage` says, at the time it was read.
    pub fn of(usage: &Usage) -> Self {
        Self {
            at: usage.updated_at,
            primary: usage.primary.as_ref().map(WindowSample::of),
            secondary: usage.secondary.as_ref().map(WindowSample::of),
            limited_until: usage.limited_until,
            credits: usage.credits.clone(),
        }
    }

    /// One of its windows.
    pub fn window(&self, which: Which) -> Option<&WindowSample> {
        match which {
            Which::Primary => self.primary.as_ref(),
            Which::Secondary => self.secondary.as_ref(),
        }
    }

    /// Whether it holds the same figures as `other` (its time aside).
    pub fn same_figures(&self, other: &Sample) -> bool {
        let same = |a: Option<&WindowSample>, b: Option<&WindowSample>| match (a, b) {
            (Some(a), Some(b)) => a.same_as(b),
            (a, b) => a.is_none() && b.is_none(),
        };
        same(self.primary.as_ref(), other.primary.as_ref())
            && same(self.secondary.as_ref(), other.secondary.as_ref())
            && self.limited_until == other.limited_until
            && self.credits == other.credits
    }
}

/// Which window of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    /// The short window (5 h on paid plans).
    Primary,
    /// The long window (a week).
    Secondary,
}

impl Which {
    /// Both, short first.
    pub const BOTH: [Which; 2] = [Which::Primary, Which::Secondary];
}

/// The history file of the profile folder `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Appends `sample` to the history in the profile folder `dir`, unless the last sample holds
/// the same figures and is younger than [`REPEAT_AFTER`]; drops samples older than [`KEEP`]
/// first when the oldest is a day past that. Returns whether a line was written. Callers
/// hold the store lock, so two writers never interleave.
pub fn append(dir: &Path, sample: &Sample) -> Result<bool, FileError> {
    let path = path(dir);
    let (first, last, ends_clean) = match ends(&path) {
        Ok(ends) => ends,
        Err(e) if e.kind() == io::ErrorKind::NotFound => (None, None, true),
        Err(e) => return Err(FileError::io(&path, e)),
    };
    if let Some(last) = &last
        && last.same_figures(sample)
        && (0..REPEAT_AFTER).contains(&(sample.at - last.at))
    {
        return Ok(false);
    }
    let line = serde_json::to_string(sample).expect("a sample always serializes");
    if first.is_some_and(|at| at < sample.at - KEEP - PRUNE_SLACK) {
        let mut kept: Vec<u8> = Vec::new();
        for s in read(dir).into_iter().filter(|s| s.at >= sample.at - KEEP) {
            kept.extend_from_slice(
                serde_json::to_string(&s)
                    .expect("a sample always serializes")
                    .as_bytes(),
            );
            kept.push(b'\n');
        }
        kept.extend_from_slice(line.as_bytes());
        kept.push(b'\n');
        files::write_atomic(&path, &kept)?;
        return Ok(true);
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| FileError::io(&path, e))?;
    // A torn last line (a crash mid-write) stays on its own line, skipped when read.
    let text = if ends_clean {
        format!("{line}\n")
    } else {
        format!("\n{line}\n")
    };
    file.write_all(text.as_bytes())
        .map_err(|e| FileError::io(&path, e))?;
    Ok(true)
}

/// Every readable sample in the profile folder `dir`, oldest first. A damaged line (or a
/// file that can't be read) is skipped with one warning per file and process; a missing
/// file is an empty history.
pub fn read(dir: &Path) -> Vec<Sample> {
    let path = path(dir);
    let file = match open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            warn_once(&path, &e.to_string());
            return Vec::new();
        }
    };
    let mut samples = Vec::new();
    let mut damaged = 0usize;
    for line in BufReader::new(file.take(MAX_FILE)).split(b'\n') {
        let Ok(line) = line else {
            damaged += 1;
            break;
        };
        match parse(&line) {
            Some(sample) => samples.push(sample),
            None if line.iter().all(u8::is_ascii_whitespace) => {}
            None => damaged += 1,
        }
    }
    if damaged > 0 {
        warn_once(&path, &format!("{damaged} damaged line(s) skipped"));
    }
    // Clocks can step back; a chart and a pace want time order.
    samples.sort_by_key(|s| s.at);
    samples
}

/// Opens the history for reading: a regular file, not followed through a symlink, and
/// never blocking on a FIFO.
fn open(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// One line as a sample; `None` when damaged.
fn parse(line: &[u8]) -> Option<Sample> {
    if line.len() > MAX_LINE {
        return None;
    }
    serde_json::from_slice(line).ok()
}

/// When the first sample was taken (`i64::MIN` when the first line is damaged), the last
/// readable sample, and whether the file ends with a whole line. Reads the first line and the
/// last few KiB only.
fn ends(path: &Path) -> io::Result<(Option<i64>, Option<Sample>, bool)> {
    let mut file = open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((None, None, true));
    }
    let mut head = Vec::new();
    BufReader::new((&file).take(MAX_LINE as u64 + 1)).read_until(b'\n', &mut head)?;
    // A damaged first line counts as old: the pruning rewrite drops it.
    let first = parse(head.strip_suffix(b"\n").unwrap_or(&head)).map_or(i64::MIN, |s| s.at);
    let start = len.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.take(TAIL).read_to_end(&mut tail)?;
    let ends_clean = tail.last() == Some(&b'\n');
    let last = tail
        .split(|b| *b == b'\n')
        .rev()
        .find_map(|l| (!l.is_empty()).then(|| parse(l)).flatten());
    Ok((Some(first), last, ends_clean))
}

/// Warns about a damaged history once per file and process (a window that redraws must
/// not flood the log).
fn warn_once(path: &Path, what: &str) {
    static WARNED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if warned
        .get_or_insert_with(HashSet::new)
        .insert(path.to_owned())
    {
        tracing::warn!(file = %path.display(), "usage history: {what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn sample(at: i64, used: f64) -> Sample {
        Sample {
            at,
            primary: Some(WindowSample {
                used_percent: used,
                window_minutes: Some(300),
                resets_at: Some(1_800_000_000),
            }),
            secondary: None,
            limited_until: None,
            credits: None,
        }
    }

    fn lines(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(path(dir))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn samples_are_appended_as_short_lines_0600() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).is_empty());
        assert!(append(dir.path(), &sample(1_000, 10.0)).unwrap());
        assert!(append(dir.path(), &sample(1_100, 12.0)).unwrap());
        assert_eq!(
            read(dir.path()),
            vec![sample(1_000, 10.0), sample(1_100, 12.0)]
        );
        let written = lines(dir.path());
        assert_eq!(
            written[0],
            r#"{"t":1000,"p":{"used":10.0,"min":300,"reset":1800000000}}"#
        );
        let mode = std::fs::metadata(path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_repeat_is_skipped_until_it_is_old() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &sample(1_000, 10.0)).unwrap();
        assert!(!append(dir.path(), &sample(1_060, 10.0)).unwrap());
        // A reset time that moved by a second is the same figures.
        let mut jitter = sample(1_120, 10.0);
        jitter.primary.as_mut().unwrap().resets_at = Some(1_800_000_001);
        assert!(!append(dir.path(), &jitter).unwrap());
        assert!(append(dir.path(), &sample(1_000 + REPEAT_AFTER, 10.0)).unwrap());
        assert!(append(dir.path(), &sample(1_000 + REPEAT_AFTER + 1, 11.0)).unwrap());
        assert_eq!(lines(dir.path()).len(), 3);
    }

    #[test]
    fn old_samples_are_pruned_by_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let now = 100 * 86_400;
        append(dir.path(), &sample(now - KEEP - 2 * 86_400, 1.0)).unwrap();
        append(dir.path(), &sample(now - KEEP + 10, 2.0)).unwrap();
        append(dir.path(), &sample(now, 3.0)).unwrap();
        let kept: Vec<f64> = read(dir.path())
            .iter()
            .map(|s| s.primary.as_ref().unwrap().used_percent)
            .collect();
        assert_eq!(kept, vec![2.0, 3.0]);
        let mode = std::fs::metadata(path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn damaged_lines_and_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let good = serde_json::to_string(&sample(1_000, 5.0)).unwrap();
        std::fs::write(
            path(dir.path()),
            format!(
                "{good}\nnot json\n{{\"t\":\"x\"}}\n\n{}\n{{\"t\":2000,\"p\":{{\"us",
                "x".repeat(MAX_LINE + 1)
            ),
        )
        .unwrap();
        assert_eq!(read(dir.path()), vec![sample(1_000, 5.0)]);
        // The torn last line stays alone: the next sample is on a line of its own.
        assert!(append(dir.path(), &sample(3_000, 6.0)).unwrap());
        assert_eq!(
            read(dir.path()),
            vec![sample(1_000, 5.0), sample(3_000, 6.0)]
        );
        // A damaged first line is dropped by the next append's rewrite, with the old samples.
        let torn = tempfile::tempdir().unwrap();
        std::fs::write(path(torn.path()), format!("{{\"t\n{good}\n")).unwrap();
        assert!(append(torn.path(), &sample(1_500, 7.0)).unwrap());
        assert_eq!(
            lines(torn.path()),
            vec![
                good.clone(),
                serde_json::to_string(&sample(1_500, 7.0)).unwrap()
            ]
        );
        // A folder where the file should be, or binary junk: nothing, no panic.
        let odd = tempfile::tempdir().unwrap();
        std::fs::create_dir(path(odd.path())).unwrap();
        assert!(read(odd.path()).is_empty());
        assert!(append(odd.path(), &sample(1, 1.0)).is_err());
        let junk = tempfile::tempdir().unwrap();
        std::fs::write(path(junk.path()), [0xff, 0xfe, 0, 1, 2]).unwrap();
        assert!(read(junk.path()).is_empty());
    }

    #[test]
    fn a_symlinked_history_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "").unwrap();
        std::os::unix::fs::symlink(&elsewhere, path(dir.path())).unwrap();
        assert!(append(dir.path(), &sample(1, 1.0)).is_err());
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "");
    }
}
