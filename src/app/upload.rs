//! Receiving the files of one request, with the limits checked as chunks arrive: the one
//! receiver behind every RPC that takes scans (Certify, StartDigitization).

use bytes::Bytes;

use crate::config::Limits;
use crate::digitize::UploadedFile;
use crate::error::{Error, Result};

/// Longest file name kept (characters); longer names are cut.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// The files of one request as they arrive: a header starts a file, chunks add to it.
#[derive(Debug)]
pub struct Upload<'a> {
    limits: &'a Limits,
    files: Vec<Incoming>,
    total: u64,
}

/// A file being received.
#[derive(Debug)]
struct Incoming {
    name: String,
    media_type: Option<String>,
    data: Vec<u8>,
}

impl<'a> Upload<'a> {
    /// An empty upload under `limits`.
    pub fn new(limits: &'a Limits) -> Self {
        Self {
            limits,
            files: Vec::new(),
            total: 0,
        }
    }

    /// Starts the next file; refused beyond `limits.max_files`. An empty `media_type`
    /// means none was declared.
    pub fn start_file(&mut self, name: &str, media_type: String) -> Result<()> {
        if self.files.len() as u64 >= u64::from(self.limits.max_files) {
            return Err(Error::TooLarge(format!(
                "more than {} files in one request: split the original",
                self.limits.max_files
            )));
        }
        self.files.push(Incoming {
            name: name.chars().take(MAX_FILE_NAME_CHARS).collect(),
            media_type: Some(media_type).filter(|m| !m.is_empty()),
            data: Vec::new(),
        });
        Ok(())
    }

    /// Adds a chunk to the current file; refused before any file header, or when the file
    /// or the whole upload would pass its limit.
    pub fn add_chunk(&mut self, chunk: &[u8]) -> Result<()> {
        let file = self.files.last_mut().ok_or_else(|| {
            Error::InvalidArgument(
                "a chunk arrived before any file header: send `file` first".into(),
            )
        })?;
        self.total += chunk.len() as u64;
        if (file.data.len() + chunk.len()) as u64 > self.limits.max_file_bytes {
            return Err(Error::TooLarge(format!(
                "file {:?} is larger than the limit of {} bytes",
                file.name, self.limits.max_file_bytes
            )));
        }
        if self.total > self.limits.max_upload_bytes {
            return Err(Error::TooLarge(format!(
                "the upload is larger than the limit of {} bytes",
                self.limits.max_upload_bytes
            )));
        }
        file.data.extend_from_slice(chunk);
        Ok(())
    }

    /// The files received, in order; refused if any of them is empty.
    pub fn finish(self) -> Result<Vec<UploadedFile>> {
        if let Some((i, f)) = self
            .files
            .iter()
            .enumerate()
            .find(|(_, f)| f.data.is_empty())
        {
            return Err(Error::InvalidArgument(format!(
                "file {} ({:?}) is empty: upload the scan again",
                i + 1,
                f.name
            )));
        }
        Ok(self
            .files
            .into_iter()
            .map(|f| UploadedFile {
                name: f.name,
                media_type: f.media_type,
                data: Bytes::from(f.data),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_empty_files_are_refused() {
        let limits = Limits {
            max_files: 2,
            max_file_bytes: 4,
            max_upload_bytes: 6,
            ..Limits::default()
        };
        let mut up = Upload::new(&limits);
        assert!(matches!(up.add_chunk(b"x"), Err(Error::InvalidArgument(_))));
        up.start_file("a.jpg", String::new()).unwrap();
        assert!(matches!(up.add_chunk(b"12345"), Err(Error::TooLarge(_))));
        let mut up = Upload::new(&limits);
        up.start_file("a.jpg", "image/jpeg".into()).unwrap();
        up.add_chunk(b"1234").unwrap();
        up.start_file("b.jpg", String::new()).unwrap();
        assert!(matches!(
            up.start_file("c", String::new()),
            Err(Error::TooLarge(_))
        ));
        assert!(matches!(up.add_chunk(b"123"), Err(Error::TooLarge(_))));
        let mut up = Upload::new(&limits);
        up.start_file("a.jpg", String::new()).unwrap();
        up.add_chunk(b"1").unwrap();
        up.start_file("b.jpg", String::new()).unwrap();
        let err = up.finish().unwrap_err();
        assert!(
            err.to_string().contains("file 2 (\"b.jpg\") is empty"),
            "{err}"
        );
    }
}
