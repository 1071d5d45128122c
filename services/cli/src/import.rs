//! `govlens import`: stream a bundle to the data service in batches, with progress.

use std::path::PathBuf;

use govlens_dataset::convert::record_to_pb;
use govlens_dataset::SourcedRecord;
use govlens_proto::data::v1 as pb;
use indicatif::{ProgressBar, ProgressStyle};

use crate::client::{data_client, explain, ServerArgs};

#[derive(clap::Args)]
pub struct ImportArgs {
    /// A directory of `<kind>.csv` files (as `govlens export` writes) or a JSON bundle.
    #[arg(required_unless_present = "paper")]
    pub path: Option<PathBuf>,
    /// Import the paper's dataset built into this binary instead of a path.
    #[arg(long, conflicts_with = "path")]
    pub paper: bool,
    /// Records per batch; each batch is written all-or-nothing.
    #[arg(long, default_value_t = 5000)]
    pub batch_size: usize,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let records = match &args.path {
        Some(path) => govlens_dataset::fs::read_bundle(path)?,
        None => govlens_dataset::paper::records()?,
    };
    let response = send(&args.server, records, args.batch_size, true).await?;
    print_counts(&response);
    Ok(())
}

/// Streams records in batches and returns the service's counts.
pub async fn send(
    server: &ServerArgs,
    records: Vec<SourcedRecord>,
    batch_size: usize,
    show_progress: bool,
) -> anyhow::Result<pb::ImportRecordsResponse> {
    let mut client = data_client(server).await?;
    let total = records.len() as u64;
    let progress = if show_progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} importing [{bar:40}] {pos}/{len} records ({per_sec})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let batch_size = batch_size.max(1);
    let batches: Vec<pb::ImportRecordsRequest> = records
        .chunks(batch_size)
        .map(|chunk| pb::ImportRecordsRequest {
            records: chunk
                .iter()
                .map(|r| record_to_pb(r.record.clone(), r.origin.clone()))
                .collect(),
        })
        .collect();
    let bar = progress.clone();
    let stream = tokio_stream::StreamExt::map(tokio_stream::iter(batches), move |batch| {
        bar.inc(batch.records.len() as u64);
        batch
    });
    let response = client.import_records(stream).await.map_err(explain);
    progress.finish_and_clear();
    Ok(response?.into_inner())
}

pub fn print_counts(response: &pb::ImportRecordsResponse) {
    let rows: Vec<Vec<String>> = response
        .counts
        .iter()
        .map(|c| {
            vec![
                c.resource.clone(),
                c.created.to_string(),
                c.updated.to_string(),
                c.unchanged.to_string(),
            ]
        })
        .collect();
    crate::table::print(&["resource", "created", "updated", "unchanged"], &rows);
    let created: i64 = response.counts.iter().map(|c| c.created).sum();
    println!(
        "{} records in {} batch(es): {} new; data revision {}",
        response.records, response.batches, created, response.revision
    );
}
