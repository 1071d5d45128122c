//! `govlens list`: page through records of a running suite and print them.

use govlens_dataset::convert::*;
use govlens_dataset::records::{AnyRecord, Metric};
use govlens_proto::data::v1 as pb;

use crate::client::{data_client, explain, ServerArgs};
use crate::table;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum What {
    Regions,
    Platforms,
    Channels,
    Observations,
    Policies,
    Functions,
    PlatformFunctions,
    Indicators,
    IndicatorValues,
    Aggregates,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: What,
    /// Only records in this region's subtree (e.g. cn-gz).
    #[arg(long)]
    pub region: Option<String>,
    /// Only records of this platform (observations, platform-functions).
    #[arg(long)]
    pub platform: Option<String>,
    /// Only observations on this channel.
    #[arg(long)]
    pub channel: Option<String>,
    /// Only observations of this metric (rating, downloads, ...).
    #[arg(long)]
    pub metric: Option<String>,
    /// Print the records as a JSON bundle instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn source_text(s: &Option<pb::Provenance>) -> String {
    match s {
        Some(p) if !p.document.is_empty() => {
            let cell: Vec<&str> = [p.table.as_str(), p.row.as_str(), p.column.as_str()]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect();
            format!("{} {}", p.document, cell.join(" / "))
        }
        _ => String::new(),
    }
}

fn enum_name<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
}

/// Pages through one List method until its last page.
macro_rules! all_pages {
    ($client:expr, $method:ident, $request:expr, $field:ident) => {{
        let mut request = $request;
        let mut items = Vec::new();
        loop {
            let page = $client
                .$method(request.clone())
                .await
                .map_err(explain)?
                .into_inner();
            items.extend(page.$field);
            if page.next_page_token.is_empty() {
                break;
            }
            request.page_token = page.next_page_token;
        }
        items
    }};
}

pub async fn run(args: ListArgs) -> anyhow::Result<()> {
    let mut c = data_client(&args.server).await?;
    let region = args.region.clone().unwrap_or_default();
    let platform = args.platform.clone().unwrap_or_default();
    let metric = match &args.metric {
        None => 0,
        Some(m) => Metric::parse(m).map(Metric::to_pb).ok_or_else(|| {
            anyhow::anyhow!(
                "--metric {m:?}: expected one of {:?}",
                Metric::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>()
            )
        })?,
    };
    let size = 1000;
    let (header, rows, records): (Vec<&str>, Vec<Vec<String>>, Vec<AnyRecord>) = match args.what {
        What::Regions => {
            let items = all_pages!(
                c,
                list_regions,
                pb::ListRegionsRequest {
                    page_size: size,
                    root_code: region,
                    ..Default::default()
                },
                regions
            );
            let rows = items
                .iter()
                .map(|r| {
                    let pops: Vec<String> = r
                        .populations
                        .iter()
                        .map(|p| format!("{}: {}", p.year, p.population))
                        .collect();
                    vec![
                        r.code.clone(),
                        r.name.clone(),
                        enum_name(govlens_dataset::AdminLevel::from_pb(r.level)),
                        r.parent_code.clone(),
                        pops.join("; "),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|r| region_from_pb(r).ok())
                .map(|(r, _)| AnyRecord::Region(r))
                .collect();
            (
                vec!["code", "name", "level", "parent", "population"],
                rows,
                records,
            )
        }
        What::Platforms => {
            let items = all_pages!(
                c,
                list_platforms,
                pb::ListPlatformsRequest {
                    page_size: size,
                    region_code: region,
                    ..Default::default()
                },
                platforms
            );
            let rows = items
                .iter()
                .map(|p| {
                    vec![
                        p.code.clone(),
                        p.name.clone(),
                        enum_name(govlens_dataset::PlatformKind::from_pb(p.kind)),
                        p.region_code.clone(),
                        p.operator.clone(),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|p| platform_from_pb(p).ok())
                .map(AnyRecord::Platform)
                .collect();
            (
                vec!["code", "name", "kind", "region", "operator"],
                rows,
                records,
            )
        }
        What::Channels => {
            let items = all_pages!(
                c,
                list_channels,
                pb::ListChannelsRequest {
                    page_size: size,
                    ..Default::default()
                },
                channels
            );
            let rows = items
                .iter()
                .map(|ch| {
                    vec![
                        ch.code.clone(),
                        ch.name.clone(),
                        enum_name(govlens_dataset::ChannelKind::from_pb(ch.kind)),
                        ch.vendor.clone(),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|ch| channel_from_pb(ch).ok())
                .map(AnyRecord::Channel)
                .collect();
            (vec!["code", "name", "kind", "vendor"], rows, records)
        }
        What::Observations => {
            let request = pb::ListObservationsRequest {
                page_size: size,
                region_code: region,
                platform_code: platform,
                channel_code: args.channel.clone().unwrap_or_default(),
                metric,
                ..Default::default()
            };
            let items = all_pages!(c, list_observations, request, observations);
            let rows = items
                .iter()
                .map(|o| {
                    vec![
                        o.id.to_string(),
                        o.platform_code.clone(),
                        o.channel_code.clone(),
                        enum_name(Metric::from_pb(o.metric)),
                        o.observed_on.clone(),
                        o.value.to_string(),
                        o.value_as_printed.clone(),
                        source_text(&o.source),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|o| observation_from_pb(o).ok())
                .map(AnyRecord::Observation)
                .collect();
            (
                vec![
                    "id",
                    "platform",
                    "channel",
                    "metric",
                    "observed",
                    "value",
                    "as printed",
                    "source",
                ],
                rows,
                records,
            )
        }
        What::Policies => {
            let items = all_pages!(
                c,
                list_policy_documents,
                pb::ListPolicyDocumentsRequest {
                    page_size: size,
                    region_code: region,
                    ..Default::default()
                },
                policy_documents
            );
            let rows = items
                .iter()
                .map(|d| {
                    let tags: Vec<String> = d
                        .toe_tags
                        .iter()
                        .map(|t| enum_name(govlens_dataset::ToeDimension::from_pb(*t)))
                        .collect();
                    vec![
                        d.code.clone(),
                        d.region_code.clone(),
                        if d.year == 0 {
                            String::new()
                        } else {
                            d.year.to_string()
                        },
                        d.programme.clone(),
                        tags.join(";"),
                        d.title.clone(),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|d| policy_document_from_pb(d).ok())
                .map(AnyRecord::PolicyDocument)
                .collect();
            (
                vec!["code", "region", "year", "programme", "toe", "title"],
                rows,
                records,
            )
        }
        What::Functions => {
            let items = all_pages!(
                c,
                list_service_functions,
                pb::ListServiceFunctionsRequest {
                    page_size: size,
                    ..Default::default()
                },
                service_functions
            );
            let rows = items
                .iter()
                .map(|f| {
                    vec![
                        f.code.clone(),
                        f.name.clone(),
                        enum_name(govlens_dataset::FunctionCategory::from_pb(f.category)),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|f| service_function_from_pb(f).ok())
                .map(AnyRecord::ServiceFunction)
                .collect();
            (vec!["code", "name", "category"], rows, records)
        }
        What::PlatformFunctions => {
            let items = all_pages!(
                c,
                list_platform_functions,
                pb::ListPlatformFunctionsRequest {
                    page_size: size,
                    region_code: region,
                    platform_code: platform,
                    ..Default::default()
                },
                platform_functions
            );
            let rows = items
                .iter()
                .map(|f| {
                    vec![
                        f.id.to_string(),
                        f.platform_code.clone(),
                        f.function_code.clone(),
                        source_text(&f.source),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .map(|f| AnyRecord::PlatformFunction(platform_function_from_pb(f)))
                .collect();
            (vec!["id", "platform", "function", "source"], rows, records)
        }
        What::Indicators => {
            let items = all_pages!(
                c,
                list_indicators,
                pb::ListIndicatorsRequest {
                    page_size: size,
                    ..Default::default()
                },
                indicators
            );
            let rows = items
                .iter()
                .map(|i| {
                    vec![
                        i.code.clone(),
                        i.name.clone(),
                        enum_name(govlens_dataset::ToeDimension::from_pb(i.dimension)),
                        i.factor.clone(),
                        i.unit.clone(),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|i| indicator_from_pb(i).ok())
                .map(AnyRecord::Indicator)
                .collect();
            (
                vec!["code", "name", "dimension", "factor", "unit"],
                rows,
                records,
            )
        }
        What::IndicatorValues => {
            let items = all_pages!(
                c,
                list_indicator_values,
                pb::ListIndicatorValuesRequest {
                    page_size: size,
                    region_code: region,
                    ..Default::default()
                },
                indicator_values
            );
            let rows = items
                .iter()
                .map(|v| {
                    vec![
                        v.id.to_string(),
                        v.indicator_code.clone(),
                        v.subject_code.clone(),
                        v.period.clone(),
                        v.value.to_string(),
                        source_text(&v.source),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|v| indicator_value_from_pb(v).ok())
                .map(AnyRecord::IndicatorValue)
                .collect();
            (
                vec!["id", "indicator", "subject", "period", "value", "source"],
                rows,
                records,
            )
        }
        What::Aggregates => {
            let items = all_pages!(
                c,
                list_reported_aggregates,
                pb::ListReportedAggregatesRequest {
                    page_size: size,
                    subject_code: platform,
                    ..Default::default()
                },
                reported_aggregates
            );
            let rows = items
                .iter()
                .map(|a| {
                    vec![
                        a.code.clone(),
                        enum_name(govlens_dataset::AggregateKind::from_pb(a.kind)),
                        a.subject_code.clone(),
                        enum_name(Metric::from_pb(a.metric)),
                        a.value.to_string(),
                        a.value_as_printed.clone(),
                        source_text(&a.source),
                    ]
                })
                .collect();
            let records = items
                .into_iter()
                .filter_map(|a| reported_aggregate_from_pb(a).ok())
                .map(AnyRecord::ReportedAggregate)
                .collect();
            (
                vec![
                    "code",
                    "kind",
                    "subject",
                    "metric",
                    "value",
                    "as printed",
                    "source",
                ],
                rows,
                records,
            )
        }
    };
    if args.json {
        print!("{}", govlens_dataset::bundle::write_json(&records));
    } else {
        table::print(&header, &rows);
        println!("({} rows)", rows.len());
    }
    Ok(())
}
