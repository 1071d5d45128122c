//! Synthetic observations for the import benchmark: streamed through
//! DataService/ImportRecords, or written as CSV in the column order of the
//! `observations` table so that `psql \copy` loads the very same rows (the baseline).
//!
//! An observation's natural key is platform x channel x metric x date, and dates must lie
//! in 1900-2100 (73,414 days), so row i gets date i mod 73,414 and the metric and channel
//! from i / 73,414: five metrics per channel, as many channels as the row count needs.
//! The platform code carries `--tag`, so each run of the benchmark imports new rows.

use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use clap::Args;
use govlens_proto::data::v1 as pb;
use govlens_proto::data::v1::data_service_client::DataServiceClient;
use govlens_proto::data::v1::record::Kind;
use tonic::transport::Endpoint;

const METRICS: [(pb::Metric, &str); 5] = [
    (pb::Metric::Rating, "rating"),
    (pb::Metric::RatingCount, "rating_count"),
    (pb::Metric::Downloads, "downloads"),
    (pb::Metric::RegisteredUsers, "registered_users"),
    (pb::Metric::MonthlyActiveUsers, "monthly_active_users"),
];
const REGION: &str = "bench-region";
const SOURCE_DOCUMENT: &str = "govlens-bench";
const SOURCE_TABLE: &str = "synthetic";

#[derive(Args)]
pub struct ImportArgs {
    /// http://host:port of the data service (not needed with --csv-only).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Observations per ImportRecords message (one transaction each).
    #[arg(long, default_value_t = 5000)]
    batch: u64,
    /// Makes this run's rows distinct from other runs' (part of the platform code).
    #[arg(long, default_value = "0")]
    tag: String,
    /// Also write the observations as CSV (observations table column order, no header).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Only write the CSV; do not import.
    #[arg(long, requires = "csv")]
    csv_only: bool,
    /// Sent as `authorization: Bearer <token>` (an editor or admin token).
    #[arg(long, env = "GOVLENS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[arg(long)]
    json: bool,
}

fn days() -> i64 {
    (last_day() - first_day()).num_days() + 1
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date")
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2100, 12, 31).expect("valid date")
}

/// One observation as (platform, channel, metric index, date, value).
struct Row {
    channel: String,
    metric: usize,
    observed_on: String,
    value: f64,
}

fn row(i: u64) -> Row {
    let days = days() as u64;
    let combo = i / days;
    let metric = (combo % METRICS.len() as u64) as usize;
    let day = first_day() + chrono::Days::new(i % days);
    // Ratings lie in 0-5; counts are whole numbers.
    let value = if metric == 0 {
        (i % 50) as f64 / 10.0
    } else {
        (1 + i % 100_000) as f64
    };
    Row {
        channel: format!("bench-channel-{}", combo / METRICS.len() as u64),
        metric,
        observed_on: day.format("%Y-%m-%d").to_string(),
        value,
    }
}

fn channel_count(rows: u64) -> u64 {
    rows.div_ceil(days() as u64 * METRICS.len() as u64).max(1)
}

fn platform_code(tag: &str) -> String {
    format!("bench-app-{tag}")
}

fn record(kind: Kind, origin: String) -> pb::Record {
    pb::Record {
        origin,
        kind: Some(kind),
    }
}

/// The region, platform and channels the observations refer to (imports match them on
/// their codes, so sending them again is harmless).
fn header_records(args: &ImportArgs) -> Vec<pb::Record> {
    let mut records = vec![
        record(
            Kind::Region(pb::Region {
                code: REGION.into(),
                name: "Benchmark region".into(),
                level: pb::AdminLevel::Province.into(),
                ..Default::default()
            }),
            "bench:region".into(),
        ),
        record(
            Kind::Platform(pb::Platform {
                code: platform_code(&args.tag),
                name: format!("Benchmark app {}", args.tag),
                kind: pb::PlatformKind::GovernmentApp.into(),
                region_code: REGION.into(),
                status: pb::PlatformStatus::Active.into(),
                ..Default::default()
            }),
            "bench:platform".into(),
        ),
    ];
    for c in 0..channel_count(args.rows) {
        records.push(record(
            Kind::Channel(pb::Channel {
                code: format!("bench-channel-{c}"),
                name: format!("Benchmark channel {c}"),
                kind: pb::ChannelKind::AppStore.into(),
                vendor: "bench".into(),
            }),
            format!("bench:channel:{c}"),
        ));
    }
    records
}

fn observation(platform: &str, i: u64) -> pb::Record {
    let r = row(i);
    record(
        Kind::Observation(pb::Observation {
            id: 0,
            platform_code: platform.to_string(),
            channel_code: r.channel,
            metric: METRICS[r.metric].0.into(),
            observed_on: r.observed_on,
            value: r.value,
            value_as_printed: String::new(),
            source: Some(pb::Provenance {
                document: SOURCE_DOCUMENT.into(),
                table: SOURCE_TABLE.into(),
                row: String::new(),
                column: String::new(),
            }),
        }),
        format!("bench:{i}"),
    )
}

/// `platform_code,channel_code,metric,observed_on,value,value_as_printed,
/// source_document,source_table,source_row,source_column`, no header.
fn write_csv(args: &ImportArgs, path: &PathBuf) -> anyhow::Result<()> {
    let platform = platform_code(&args.tag);
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .from_path(path)?;
    for i in 0..args.rows {
        let r = row(i);
        out.write_record([
            platform.as_str(),
            &r.channel,
            METRICS[r.metric].1,
            &r.observed_on,
            &r.value.to_string(),
            "",
            SOURCE_DOCUMENT,
            SOURCE_TABLE,
            "",
            "",
        ])?;
    }
    out.flush()?;
    Ok(())
}

pub async fn run(args: ImportArgs) -> anyhow::Result<bool> {
    anyhow::ensure!(args.batch >= 1, "--batch must be at least 1");
    if let Some(path) = &args.csv {
        write_csv(&args, path)?;
    }
    if args.csv_only {
        return Ok(true);
    }
    let channel = Endpoint::from_shared(args.target.clone())?
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", args.target))?;
    let mut client = DataServiceClient::new(channel).max_encoding_message_size(64 << 20);

    // Batches are built as the stream is polled, so generation overlaps the import.
    let platform = platform_code(&args.tag);
    let (rows, batch) = (args.rows, args.batch);
    let mut header = Some(header_records(&args));
    let batches = (0..rows.div_ceil(batch)).map(move |b| {
        let mut records = header.take().unwrap_or_default();
        records.extend((b * batch..((b + 1) * batch).min(rows)).map(|i| observation(&platform, i)));
        pb::ImportRecordsRequest { records }
    });
    let mut stream = tonic::Request::new(tokio_stream::iter(batches));
    crate::Auth::new(args.token.as_deref())?.apply(&mut stream);
    let started = Instant::now();
    let response = client
        .import_records(stream)
        .await
        .map_err(|s| anyhow::anyhow!("ImportRecords failed: {:?}: {}", s.code(), s.message()))?
        .into_inner();
    let seconds = started.elapsed().as_secs_f64();
    let created: i64 = response
        .counts
        .iter()
        .filter(|c| c.resource == "observations" || c.resource == "observation")
        .map(|c| c.created)
        .sum();
    let report = serde_json::json!({
        "rows": rows,
        "batch": batch,
        "batches": response.batches,
        "records": response.records,
        "observations_created": created,
        "seconds": seconds,
        "rows_per_s": rows as f64 / seconds,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "imported {rows} observations in {} batches in {seconds:.2} s: {:.0} rows/s ({created} created)",
            response.batches,
            rows as f64 / seconds
        );
    }
    if created != rows as i64 {
        eprintln!(
            "govlens-loadgen: {created} observations created, {rows} sent (rows from an earlier run with the same --tag?)"
        );
        return Ok(false);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_distinct_and_valid() {
        let mut keys = std::collections::HashSet::new();
        let n = days() as u64 * 6 + 3;
        for i in 0..n {
            let r = row(i);
            assert!(keys.insert((r.channel, r.metric, r.observed_on)));
        }
        assert_eq!(days(), 73_414);
        assert_eq!(channel_count(n), 2);
        assert_eq!(channel_count(1_000_000), 3);
        assert!(row(49).value <= 5.0);
    }
}
