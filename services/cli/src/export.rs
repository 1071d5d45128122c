//! `govlens export`: everything, as CSV files or JSON that `govlens import` reads back.

use std::path::PathBuf;

use govlens_dataset::convert::record_from_pb;
use govlens_dataset::AnyRecord;
use govlens_proto::data::v1 as pb;

use crate::client::{data_client, explain, ServerArgs};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Output: a directory for CSV, a file for JSON (standard output when omitted).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Every record the service holds, and the revision it was read at.
pub async fn fetch(server: &ServerArgs) -> anyhow::Result<(Vec<AnyRecord>, i64)> {
    let mut client = data_client(server).await?;
    let mut stream = client
        .export_records(pb::ExportRecordsRequest { batch_size: 2000 })
        .await
        .map_err(explain)?
        .into_inner();
    let mut records = Vec::new();
    let mut revision = 0;
    while let Some(chunk) = stream.message().await.map_err(explain)? {
        revision = chunk.revision;
        for r in chunk.records {
            records.push(
                record_from_pb(r)
                    .map_err(|v| anyhow::anyhow!("unreadable exported record: {v:?}"))?,
            );
        }
    }
    Ok((records, revision))
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let (records, revision) = fetch(&args.server).await?;
    match (args.format, &args.out) {
        (Format::Csv, Some(dir)) => govlens_dataset::fs::write_csv_dir(dir, &records)?,
        (Format::Csv, None) => anyhow::bail!("CSV export writes one file per kind: give --out DIR"),
        (Format::Json, Some(file)) => {
            std::fs::write(file, govlens_dataset::bundle::write_json(&records))?
        }
        (Format::Json, None) => print!("{}", govlens_dataset::bundle::write_json(&records)),
    }
    if let Some(out) = &args.out {
        eprintln!(
            "exported {} records at revision {revision} to {}",
            records.len(),
            out.display()
        );
    }
    Ok(())
}
