//! Reading PDF files as a stranger would: the cross-reference reader, objects, byte ranges,
//! revisions, the comparison of revisions, and the accounting of every byte after the last
//! signed revision. Knows nothing of signatures beyond finding their dictionaries.

pub mod accounting;
pub mod byterange;
pub mod diff;
pub mod hexdigits;
pub mod objects;
pub mod revisions;
pub mod xref_reader;
