//! [`LocalStore`]: objects as files under one directory.
//!
//! Writes go to a temp file (`.tmp-…`, which no valid key can name) in the target folder,
//! are fsynced, then renamed into place (replace) or hard-linked (create-only: `link(2)`
//! fails if the name exists, also across processes), and the folder is fsynced so the new
//! name survives a crash. Folders emptied by deletes are removed so a key may later name a
//! file where a folder was.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::{ObjectStore, StoreError, validate_key, validate_prefix};

/// How many times a write is retried when a concurrent delete removed its folder.
const WRITE_ATTEMPTS: usize = 5;

/// Distinguishes temp files written by this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// An object store in a local directory (the default backend).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens the store rooted at `dir`, creating the directory if needed.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        let label = dir.display().to_string();
        blocking("open", &label.clone(), move || {
            fs::create_dir_all(&dir).map_err(|e| io("open", &label, e))?;
            let root = fs::canonicalize(&dir).map_err(|e| io("open", &label, e))?;
            if !root.is_dir() {
                return Err(StoreError::unavailable(
                    "open",
                    &label,
                    "the store root is not a directory",
                ));
            }
            Ok(Self { root })
        })
        .await
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        validate_key(key)?;
        let (root, path, key) = (self.root.clone(), self.path_of(key), key.to_string());
        blocking("put", &key.clone(), move || {
            write_atomically(&root, &path, &key, &data, Commit::Replace).map(|_| ())
        })
        .await
    }

    async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<bool, StoreError> {
        validate_key(key)?;
        let (root, path, key) = (self.root.clone(), self.path_of(key), key.to_string());
        blocking("put_if_absent", &key.clone(), move || {
            write_atomically(&root, &path, &key, &data, Commit::CreateOnly)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        validate_key(key)?;
        let (path, key) = (self.path_of(key), key.to_string());
        blocking("get", &key.clone(), move || match fs::read(&path) {
            Ok(data) => Ok(Some(Bytes::from(data))),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(io("get", &key, e)),
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        validate_prefix(prefix)?;
        let (root, prefix) = (self.root.clone(), prefix.to_string());
        blocking("list", &prefix.clone(), move || list_keys(&root, &prefix)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        let (root, path, key) = (self.root.clone(), self.path_of(key), key.to_string());
        blocking("delete", &key.clone(), move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if is_absent(&e) => return Ok(()),
                Err(e) => return Err(io("delete", &key, e)),
            }
            if let Some(parent) = path.parent() {
                sync_dir(parent).map_err(|e| io("delete", &key, e))?;
                prune_empty_dirs(&root, parent);
            }
            Ok(())
        })
        .await
    }

    fn describe(&self) -> String {
        format!("local directory {}", self.root.display())
    }
}

/// How a written temp file becomes the object.
#[derive(Clone, Copy, PartialEq)]
enum Commit {
    /// `rename`: atomically replaces any existing object.
    Replace,
    /// `link`: fails if the name exists; never overwrites.
    CreateOnly,
}

/// Writes `data` to a temp file next to `path`, fsyncs it and commits it. Returns `false`
/// only for [`Commit::CreateOnly`] when the key already existed.
fn write_atomically(
    root: &Path,
    path: &Path,
    key: &str,
    data: &[u8],
    commit: Commit,
) -> Result<bool, StoreError> {
    let op = match commit {
        Commit::Replace => "put",
        Commit::CreateOnly => "put_if_absent",
    };
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::invalid_key(key, "the key has no parent folder"))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        create_dirs(root, dir).map_err(|e| folder_error(op, key, e))?;
        let temp = dir.join(temp_name());
        match write_temp(&temp, data) {
            Ok(()) => {}
            // A concurrent delete pruned the folder between create_dirs and the write.
            Err(e) if e.kind() == ErrorKind::NotFound && attempt < WRITE_ATTEMPTS => continue,
            Err(e) => {
                let _ = fs::remove_file(&temp);
                return Err(folder_error(op, key, e));
            }
        }
        let committed = match commit {
            Commit::Replace => fs::rename(&temp, path).map(|()| true),
            Commit::CreateOnly => match fs::hard_link(&temp, path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            },
        };
        if commit == Commit::CreateOnly || committed.is_err() {
            let _ = fs::remove_file(&temp);
        }
        return match committed {
            Ok(created) => {
                if created {
                    sync_dir(dir).map_err(|e| io(op, key, e))?;
                }
                Ok(created)
            }
            Err(e) if e.kind() == ErrorKind::NotFound && attempt < WRITE_ATTEMPTS => continue,
            Err(e) if e.kind() == ErrorKind::IsADirectory => Err(StoreError::invalid_key(
                key,
                "a folder of other keys already has this name",
            )),
            Err(e) => Err(io(op, key, e)),
        };
    }
}

fn write_temp(temp: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(temp)?;
    file.write_all(data)?;
    file.sync_all()
}

/// A temp file name unique across threads and processes; it starts with `.`, which keys
/// cannot, so it never shows up in listings or clashes with an object.
fn temp_name() -> String {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        ".tmp-{}-{n}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    )
}

/// Creates the missing folders from `root` down to `dir`, fsyncing each parent that gained
/// an entry so the path survives a crash.
fn create_dirs(root: &Path, dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let relative = dir.strip_prefix(root).unwrap_or(dir);
    let mut current = root.to_path_buf();
    for part in relative.components() {
        let parent = current.clone();
        current.push(part);
        match fs::create_dir(&current) {
            Ok(()) => sync_dir(&parent)?,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Maps a failure to create folders or files: a path component that is a file means the
/// key clashes with another key.
fn folder_error(op: &'static str, key: &str, e: std::io::Error) -> StoreError {
    match e.kind() {
        ErrorKind::NotADirectory | ErrorKind::AlreadyExists => StoreError::invalid_key(
            key,
            "a leading part of the key is itself an object, so it cannot be a folder",
        ),
        _ => io(op, key, e),
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes now-empty folders from `dir` up to (not including) `root`; stops at the first
/// folder that still has entries. Best effort: a concurrent writer simply recreates them.
fn prune_empty_dirs(root: &Path, dir: &Path) {
    let mut current = dir;
    while current != root && current.starts_with(root) {
        if fs::remove_dir(current).is_err() {
            return;
        }
        match current.parent() {
            Some(parent) => {
                let _ = sync_dir(parent);
                current = parent;
            }
            None => return,
        }
    }
}

/// Lists the keys under `prefix`, walking only the deepest folder the prefix names.
fn list_keys(root: &Path, prefix: &str) -> Result<Vec<String>, StoreError> {
    let base = match prefix.rfind('/') {
        Some(i) => &prefix[..=i],
        None => "",
    };
    let mut keys = Vec::new();
    let mut pending = vec![base.to_string()];
    while let Some(folder) = pending.pop() {
        let entries = match fs::read_dir(root.join(&folder)) {
            Ok(entries) => entries,
            Err(e) if is_absent(&e) => continue,
            Err(e) => return Err(io("list", prefix, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io("list", prefix, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let key = format!("{folder}{name}");
            let kind = entry.file_type().map_err(|e| io("list", prefix, e))?;
            if kind.is_dir() {
                let folder = format!("{key}/");
                if folder.starts_with(prefix) || prefix.starts_with(&folder) {
                    pending.push(folder);
                }
            } else if kind.is_file() && key.starts_with(prefix) && validate_key(&key).is_ok() {
                keys.push(key);
            }
        }
    }
    keys.sort_unstable();
    Ok(keys)
}

/// True for errors that mean "no object at this key".
fn is_absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
    )
}

fn io(op: &'static str, key: &str, e: std::io::Error) -> StoreError {
    StoreError::unavailable(op, key, e)
}

/// Runs blocking filesystem work off the async threads.
async fn blocking<T, F>(op: &'static str, key: &str, work: F) -> Result<T, StoreError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::unavailable(op, key, e))?
}
