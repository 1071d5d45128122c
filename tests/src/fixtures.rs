//! Messages for the tests and a small base world (regions, channels, platforms, a
//! service function, an indicator) created through the API. Codes are unique per test
//! so that tests sharing a Redis never share a cache entry.

use crate::{pb, unique_code, Client, TestServer};

pub fn source(document: &str, row: &str) -> Option<pb::Provenance> {
    Some(pb::Provenance {
        document: document.to_string(),
        table: "Table 9".to_string(),
        row: row.to_string(),
        column: "Column".to_string(),
    })
}

pub fn population(year: i32, population: i64, printed: &str) -> pb::PopulationFigure {
    pb::PopulationFigure {
        year,
        population,
        value_as_printed: printed.to_string(),
        source: source("stats", &format!("population {year}")),
    }
}

pub fn region(code: &str, name: &str, level: pb::AdminLevel, parent: &str) -> pb::Region {
    pb::Region {
        code: code.to_string(),
        name: name.to_string(),
        level: level as i32,
        parent_code: parent.to_string(),
        populations: Vec::new(),
    }
}

pub fn channel(code: &str, kind: pb::ChannelKind) -> pb::Channel {
    pb::Channel {
        code: code.to_string(),
        name: format!("Channel {code}"),
        kind: kind as i32,
        vendor: "Vendor".to_string(),
    }
}

pub fn platform(code: &str, region: &str) -> pb::Platform {
    pb::Platform {
        code: code.to_string(),
        name: format!("Platform {code}"),
        kind: pb::PlatformKind::GovernmentApp as i32,
        region_code: region.to_string(),
        operator: "Big Data Bureau".to_string(),
        launch_date: "2020-01-15".to_string(),
        status: pb::PlatformStatus::Active as i32,
        url: "https://example.org/app".to_string(),
        source: source("pan2023-toe", code),
    }
}

pub fn service_function(code: &str) -> pb::ServiceFunction {
    pb::ServiceFunction {
        code: code.to_string(),
        name: format!("Function {code}"),
        category: pb::FunctionCategory::ConvenienceService as i32,
        description: "What it does".to_string(),
    }
}

pub fn indicator(code: &str) -> pb::Indicator {
    pb::Indicator {
        code: code.to_string(),
        name: format!("Indicator {code}"),
        unit: "share".to_string(),
        direction: pb::Direction::HigherIsBetter as i32,
        dimension: pb::ToeDimension::Technology as i32,
        factor: "infrastructure".to_string(),
        description: "How much".to_string(),
    }
}

pub fn observation(
    platform: &str,
    channel: &str,
    metric: pb::Metric,
    on: &str,
    value: f64,
    printed: &str,
) -> pb::Observation {
    pb::Observation {
        id: 0,
        platform_code: platform.to_string(),
        channel_code: channel.to_string(),
        metric: metric as i32,
        observed_on: on.to_string(),
        value,
        value_as_printed: printed.to_string(),
        source: source("pan2023-toe", platform),
    }
}

pub fn rating(platform: &str, channel: &str, on: &str, value: f64) -> pb::Observation {
    observation(platform, channel, pb::Metric::Rating, on, value, "")
}

pub fn policy_document(code: &str, region: &str) -> pb::PolicyDocument {
    pb::PolicyDocument {
        code: code.to_string(),
        region_code: region.to_string(),
        title: format!("Work plan {code}"),
        issuer: "Provincial People's Government".to_string(),
        year: 2019,
        programme: "Digital government".to_string(),
        toe_tags: vec![
            pb::ToeDimension::Technology as i32,
            pb::ToeDimension::Organization as i32,
        ],
        source: source("pan2023-toe", "1"),
    }
}

pub fn indicator_value(
    indicator: &str,
    kind: pb::SubjectKind,
    subject: &str,
    period: &str,
    value: f64,
) -> pb::IndicatorValue {
    pb::IndicatorValue {
        id: 0,
        indicator_code: indicator.to_string(),
        subject_kind: kind as i32,
        subject_code: subject.to_string(),
        period: period.to_string(),
        value,
        value_as_printed: String::new(),
        source: source("survey", subject),
    }
}

pub fn reported_aggregate(code: &str, platform: &str) -> pb::ReportedAggregate {
    pb::ReportedAggregate {
        code: code.to_string(),
        kind: pb::AggregateKind::Sum as i32,
        subject_kind: pb::SubjectKind::Platform as i32,
        subject_code: platform.to_string(),
        metric: pb::Metric::Downloads as i32,
        observed_on: "2023-05-25".to_string(),
        value: 931_900_000.0,
        value_as_printed: "931.9 million".to_string(),
        description: "Sum of the store downloads".to_string(),
        source: source("pan2023-toe", "Sum"),
    }
}

/// A base world: country > {province_a, province_b}, two channels, a platform in each
/// province, two service functions and an indicator.
#[derive(Debug, Clone)]
pub struct World {
    pub country: String,
    pub province_a: String,
    pub province_b: String,
    pub channel_a: String,
    pub channel_b: String,
    pub platform_a: String,
    pub platform_b: String,
    pub function_a: String,
    pub function_b: String,
    pub indicator: String,
}

impl World {
    pub async fn create(srv: &TestServer) -> World {
        let w = World {
            country: unique_code("cn"),
            province_a: unique_code("sc"),
            province_b: unique_code("gz"),
            channel_a: unique_code("store"),
            channel_b: unique_code("web"),
            platform_a: unique_code("app-a"),
            platform_b: unique_code("app-b"),
            function_a: unique_code("fn-a"),
            function_b: unique_code("fn-b"),
            indicator: unique_code("ind"),
        };
        let mut c = srv.client();
        create_region(
            &mut c,
            region(&w.country, "China", pb::AdminLevel::Country, ""),
        )
        .await;
        create_region(
            &mut c,
            region(
                &w.province_a,
                "Sichuan",
                pb::AdminLevel::Province,
                &w.country,
            ),
        )
        .await;
        create_region(
            &mut c,
            region(
                &w.province_b,
                "Guizhou",
                pb::AdminLevel::Province,
                &w.country,
            ),
        )
        .await;
        for (code, kind) in [
            (&w.channel_a, pb::ChannelKind::AppStore),
            (&w.channel_b, pb::ChannelKind::Web),
        ] {
            c.create_channel(pb::CreateChannelRequest {
                channel: Some(channel(code, kind)),
                request_id: String::new(),
            })
            .await
            .expect("create channel");
        }
        for (code, region) in [
            (&w.platform_a, &w.province_a),
            (&w.platform_b, &w.province_b),
        ] {
            create_platform(&mut c, platform(code, region)).await;
        }
        for code in [&w.function_a, &w.function_b] {
            c.create_service_function(pb::CreateServiceFunctionRequest {
                service_function: Some(service_function(code)),
                request_id: String::new(),
            })
            .await
            .expect("create service function");
        }
        c.create_indicator(pb::CreateIndicatorRequest {
            indicator: Some(indicator(&w.indicator)),
            request_id: String::new(),
        })
        .await
        .expect("create indicator");
        w
    }
}

pub async fn create_region(c: &mut Client, region: pb::Region) -> pb::Region {
    c.create_region(pb::CreateRegionRequest {
        region: Some(region),
        request_id: String::new(),
    })
    .await
    .expect("create region")
    .into_inner()
    .region
    .expect("region in response")
}

pub async fn create_platform(c: &mut Client, platform: pb::Platform) -> pb::Platform {
    c.create_platform(pb::CreatePlatformRequest {
        platform: Some(platform),
        request_id: String::new(),
    })
    .await
    .expect("create platform")
    .into_inner()
    .platform
    .expect("platform in response")
}

pub async fn create_observation(c: &mut Client, observation: pb::Observation) -> pb::Observation {
    c.create_observation(pb::CreateObservationRequest {
        observation: Some(observation),
        request_id: String::new(),
    })
    .await
    .expect("create observation")
    .into_inner()
    .observation
    .expect("observation in response")
}

/// Tracks the data revision: every write must advance it, reads must not.
pub struct Revisions {
    last: i64,
}

impl Revisions {
    pub async fn start(srv: &TestServer) -> Revisions {
        Revisions {
            last: srv.revision().await,
        }
    }

    /// A write reported `reported`: it must be newer than anything before.
    #[track_caller]
    pub fn wrote(&mut self, reported: i64) {
        assert!(
            reported > self.last,
            "a write reported revision {reported}, not after {}",
            self.last
        );
        self.last = reported;
    }

    /// Checks the server is still at the last revision (nothing was written since).
    pub async fn unchanged(&self, srv: &TestServer, what: &str) {
        assert_eq!(
            srv.revision().await,
            self.last,
            "the revision changed after {what}"
        );
    }

    /// Checks the server's current revision is the last one a write reported.
    pub async fn current(&self, srv: &TestServer) {
        assert_eq!(
            srv.revision().await,
            self.last,
            "GetDataRevision disagrees with the last write"
        );
    }

    pub fn last(&self) -> i64 {
        self.last
    }
}
