//! GovLens records, their validation rules, the printed-figure parser and the bundle
//! format (CSV or JSON) that import reads and export writes. Pure: it reads and writes
//! text it is given; `fs` is the one thin layer over files.

pub mod bundle;
pub mod convert;
pub mod formats;
pub mod fs;
pub mod paper;
pub mod printed;
pub mod records;
pub mod validate;

pub use bundle::{BundleError, SourcedRecord};
pub use records::*;
pub use validate::{prepare, Violation};
