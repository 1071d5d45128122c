//! Unit tests (pure, hand-made fact sheets).

mod default_rules;
mod paper;
mod parsing;
mod recommending;
mod robustness;
mod support;
