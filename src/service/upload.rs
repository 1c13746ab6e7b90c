//! The one upload receiver of the gRPC services: reads the file headers and chunks of a
//! client stream into an [`Upload`], whose limits are checked as chunks arrive, holding the
//! bytes against the memory all uploads may hold and cutting off a stream that stalls.

use tonic::{Status, Streaming};

use super::limits::{Gate, MemoryHold};
use super::status::to_status;
use crate::app::Upload;
use crate::config::Limits;
use crate::digitize::UploadedFile;
use crate::error::Error;
use crate::proto::FileHeader;

/// One message of an upload stream, whatever the RPC.
pub(super) enum Piece {
    /// A file starts.
    File(FileHeader),
    /// Bytes of the current file.
    Chunk(Vec<u8>),
    /// The RPC's first message again; says what may be sent only once.
    Repeated(&'static str),
    /// A message with no part.
    Empty,
}

/// Receives the files after the first message, checking the limits as chunks arrive and
/// refusing empty files; `hold` counts the bytes until the caller drops it.
pub(super) async fn receive_files<M>(
    stream: &mut Streaming<M>,
    limits: &Limits,
    gate: &Gate,
    hold: &mut MemoryHold,
    piece: impl Fn(M) -> Piece,
) -> Result<Vec<UploadedFile>, Status> {
    let mut upload = Upload::new(limits);
    while let Some(message) = gate.next(stream).await? {
        let step = match piece(message) {
            Piece::File(h) => upload.start_file(&h.name, h.media_type),
            Piece::Chunk(chunk) => {
                hold.grow(chunk.len())?;
                upload.add_chunk(&chunk)
            }
            Piece::Repeated(what) => Err(Error::InvalidArgument(format!(
                "{what} may be sent only once, first"
            ))),
            Piece::Empty => Err(Error::InvalidArgument("empty message in the stream".into())),
        };
        step.map_err(to_status)?;
    }
    upload.finish().map_err(to_status)
}

/// The first message of a stream, or INVALID_ARGUMENT saying what to send first.
pub(super) async fn first_message<M>(
    stream: &mut Streaming<M>,
    gate: &Gate,
    what: &str,
) -> Result<M, Status> {
    match gate.next(stream).await? {
        Some(message) => Ok(message),
        None => Err(to_status(Error::InvalidArgument(format!(
            "empty stream: send {what} first"
        )))),
    }
}
