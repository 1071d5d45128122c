//! The paper's dataset (Pan et al., TOE framework, Sichuan and Guizhou), compiled into
//! the binary from `datasets/paper/` so the embedded suite can load it anywhere.

use crate::bundle::{self, BundleError, SourcedRecord};

/// (file name, contents) of every file of the paper bundle, in import order.
pub const FILES: &[(&str, &str)] = &[
    (
        "regions.csv",
        include_str!("../../../datasets/paper/regions.csv"),
    ),
    (
        "populations.csv",
        include_str!("../../../datasets/paper/populations.csv"),
    ),
    (
        "channels.csv",
        include_str!("../../../datasets/paper/channels.csv"),
    ),
    (
        "platforms.csv",
        include_str!("../../../datasets/paper/platforms.csv"),
    ),
    (
        "service_functions.csv",
        include_str!("../../../datasets/paper/service_functions.csv"),
    ),
    (
        "platform_functions.csv",
        include_str!("../../../datasets/paper/platform_functions.csv"),
    ),
    (
        "policy_documents.csv",
        include_str!("../../../datasets/paper/policy_documents.csv"),
    ),
    (
        "observations.csv",
        include_str!("../../../datasets/paper/observations.csv"),
    ),
    (
        "reported_aggregates.csv",
        include_str!("../../../datasets/paper/reported_aggregates.csv"),
    ),
];

/// Every record of the paper bundle, with its file and line as origin.
pub fn records() -> Result<Vec<SourcedRecord>, BundleError> {
    let mut out = Vec::new();
    for (name, text) in FILES {
        out.extend(bundle::parse_csv(name, text)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_bundle_equals_the_files_on_disk() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/paper");
        let on_disk = crate::fs::read_bundle(&dir).unwrap();
        assert_eq!(super::records().unwrap(), on_disk);
    }
}
