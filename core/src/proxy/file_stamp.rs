//! Cheap change detection for the files the endpoint caches what it read from.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Identity of a file's current version: (mtime, ctime, size, inode, device), or `None`
/// when it does not exist. Atomic replaces change the inode; in-place writes change
/// mtime and usually size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(Option<(i64, i64, i64, i64, u64, u64, u64)>);

/// The stamp of `path` now (one `stat`).
pub(crate) fn stamp(path: &Path) -> Stamp {
    Stamp(std::fs::metadata(path).ok().map(|m| {
        (
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            m.size(),
            m.ino(),
            m.dev(),
        )
    }))
}
