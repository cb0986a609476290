//! File primitives every writer in the core uses: atomic 0600 writes, 0700 folders,
//! bounded reads that never block on a FIFO, and advisory locks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Prefix of every temporary file or folder the router creates. It starts with a dot, so
/// a leftover one is never taken for a profile (profile names cannot start with a dot).
pub const TEMP_PREFIX: &str = ".codex-router-tmp-";
/// The largest file the router reads (auth files and settings are a few KiB).
pub const MAX_READ: u64 = 1024 * 1024;
/// How long a lock is waited for before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// A file operation that failed, with the path it failed on.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// An I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Not a regular file (a folder, a FIFO, a device).
    #[error("{}: not a regular file", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// Larger than [`MAX_READ`].
    #[error("{}: larger than {} KiB, refusing to read it", path.display(), MAX_READ / 1024)]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Another process held the lock for too long.
    #[error("{}: another codex-router process is busy (lock held for over {waited_secs}s)", path.display())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long it was waited for.
        waited_secs: u64,
    },
}

impl FileError {
    /// Wraps an I/O error with its path.
    pub fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// Whether the error is "file not found".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Creates `dir` and its missing parents; folders it creates get mode 0700.
pub fn ensure_dir(dir: &Path) -> Result<(), FileError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| FileError::io(dir, e))
}

/// Reads a regular file of at most [`MAX_READ`] bytes. FIFOs and devices are refused
/// without blocking.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, FileError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| FileError::io(path, e))?;
    let meta = file.metadata().map_err(|e| FileError::io(path, e))?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_owned(),
        });
    }
    if meta.len() > MAX_READ {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
        });
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_READ + 1)
        .read_to_end(&mut buf)
        .map_err(|e| FileError::io(path, e))?;
    if buf.len() as u64 > MAX_READ {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(buf)
}

/// Writes `bytes` to `path` atomically: a 0600 temp file in the same folder, fsync,
/// rename over `path`, fsync of the folder. A reader sees the old file or the new one,
/// never a mix; a crash leaves at most a temp file named with [`TEMP_PREFIX`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = parent(path);
    ensure_dir(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| FileError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| FileError::io(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| FileError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| FileError::io(path, e.error))?;
    sync_dir(dir)
}

/// Fsyncs a folder so a rename inside it is durable.
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FileError::io(dir, e))
}

/// Removes temp files and folders left in `dir` by a router process that died mid-write,
/// when older than a minute (a live writer finishes in milliseconds).
pub fn sweep_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let cutoff = SystemTime::now() - Duration::from_secs(60);
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if meta.modified().is_ok_and(|m| m < cutoff) {
            let path = entry.path();
            let result = if meta.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            if let Err(e) = result {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a stale temp file");
            }
        }
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// An exclusive advisory lock on a file; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock on `path` (created 0600 if missing), waiting up to 10 s.
    pub fn exclusive(path: &Path) -> Result<Self, FileError> {
        Self::exclusive_for(path, LOCK_WAIT)
    }

    /// Takes the lock on `path`, waiting up to `wait`.
    pub fn exclusive_for(path: &Path, wait: Duration) -> Result<Self, FileError> {
        ensure_dir(parent(path))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| FileError::io(path, e))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(FileError::LockTimeout {
                        path: path.to_owned(),
                        waited_secs: wait.as_secs(),
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(FileError::io(path, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_0600_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn bounded_read_refuses_fifo_and_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_bounded(&fifo),
            Err(FileError::NotRegular { .. })
        ));
        let big = dir.path().join("big");
        let f = File::create(&big).unwrap();
        f.set_len(MAX_READ + 1).unwrap();
        assert!(matches!(
            read_bounded(&big),
            Err(FileError::TooLarge { .. })
        ));
        assert!(
            read_bounded(&dir.path().join("missing"))
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn bounded_read_refuses_dev_zero_and_a_huge_file_behind_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("auth.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = read_bounded(&zero).unwrap_err();
        assert!(matches!(err, FileError::NotRegular { .. }), "{err}");
        assert!(err.to_string().ends_with("auth.json: not a regular file"));

        // A sparse 1 GiB file: refused from its size, nothing is read.
        let huge = dir.path().join("huge");
        File::create(&huge).unwrap().set_len(1 << 30).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&huge, &link).unwrap();
        let err = read_bounded(&link).unwrap_err();
        assert!(matches!(err, FileError::TooLarge { .. }), "{err}");
        assert!(
            err.to_string()
                .ends_with("link.json: larger than 1024 KiB, refusing to read it")
        );
    }

    #[test]
    fn lock_excludes_a_second_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = FileLock::exclusive(&path).unwrap();
        let other = File::options().read(true).write(true).open(&path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(held);
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn sweep_removes_only_old_router_temps() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(format!("{TEMP_PREFIX}old"));
        let fresh = dir.path().join(format!("{TEMP_PREFIX}fresh"));
        let other = dir.path().join(".other");
        for p in [&old, &fresh, &other] {
            fs::write(p, b"x").unwrap();
        }
        let f = File::options().write(true).open(&old).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(120))
            .unwrap();
        sweep_stale_temps(dir.path());
        assert!(!old.exists());
        assert!(fresh.exists() && other.exists());
    }
}
