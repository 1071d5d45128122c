//! Derivation of the indicators the default TOE model scores, from a snapshot.
//!
//! Each indicator is defined as data ([`INDICATORS`]: code, name, unit, direction, TOE
//! dimension, factor, the section of Pan et al. (2023) it operationalises, and a
//! description) and computed per region ([`region_indicators`]: every region that has
//! platforms) and, where meaningful, per platform ([`platform_indicators`]). Every value
//! carries a short provenance text saying how it was computed, or why it is missing.
//! See `TOE_MODEL.md` in this crate for the mapping to the paper and the known limits.

mod defs;
mod derive;
mod table;

pub use defs::{indicator_def, IndicatorDef, INDICATORS};
pub use derive::{platform_indicators, region_indicators};
pub use table::IndicatorTable;
