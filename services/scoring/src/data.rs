//! Reads the data service over gRPC (never its tables): the data revision, and a full
//! snapshot of the records, kept in memory per revision so repeated scoring calls at
//! the same revision fetch nothing.

use std::sync::Arc;
use std::time::Duration;

use govlens_dataset::convert::record_from_pb;
use govlens_dataset::AnyRecord;
use govlens_kit::telemetry::propagation::{traced, TracedChannel};
use govlens_kit::{ServiceError, ServiceResult};
use govlens_proto::data::v1 as pb;
use govlens_proto::data::v1::data_service_client::DataServiceClient;
use tokio::sync::Mutex;

/// All records at one data revision.
#[derive(Debug)]
pub struct Snapshot {
    /// Identity of the data service's database (revisions count per database).
    pub instance: String,
    pub revision: i64,
    pub records: Vec<AnyRecord>,
}

/// A client of the data service with a per-revision snapshot cache.
#[derive(Clone)]
pub struct DataSource {
    client: DataServiceClient<TracedChannel>,
    timeout: Duration,
    latest: Arc<Mutex<Option<Arc<Snapshot>>>>,
}

fn upstream_error(status: tonic::Status) -> ServiceError {
    if govlens_kit::telemetry::propagation::refused_by_goaway(&status) {
        return ServiceError::Unavailable(format!(
            "the data service is restarting: {}",
            status.message()
        ));
    }
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            ServiceError::Unavailable(format!(
                "the data service is unavailable: {}",
                status.message()
            ))
        }
        _ => ServiceError::internal(anyhow::anyhow!("data service call failed: {status}")),
    }
}

impl DataSource {
    /// A lazily connecting client: the data service may start after this one.
    pub fn connect_lazy(addr: &str, timeout: Duration) -> anyhow::Result<Self> {
        let channel = tonic::transport::Endpoint::from_shared(addr.to_string())?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        let client = DataServiceClient::new(traced(channel)).max_decoding_message_size(64 << 20);
        Ok(DataSource {
            client,
            timeout,
            latest: Arc::default(),
        })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        request
    }

    /// The data service's database identity and current revision.
    pub async fn revision(&self) -> ServiceResult<(String, i64)> {
        let mut client = self.client.clone();
        let response = tokio::time::timeout(
            self.timeout,
            client.get_data_revision(self.request(pb::GetDataRevisionRequest {})),
        )
        .await
        .map_err(|_| ServiceError::Unavailable("the data service did not answer in time".into()))?
        .map_err(upstream_error)?;
        let r = response.into_inner();
        Ok((r.instance, r.revision))
    }

    /// Whether the data service answers.
    pub async fn ping(&self) -> bool {
        self.revision().await.is_ok()
    }

    /// Every record at the current revision.
    pub async fn snapshot(&self) -> ServiceResult<Arc<Snapshot>> {
        let (instance, revision) = self.revision().await?;
        let mut latest = self.latest.lock().await;
        if let Some(s) = latest
            .as_ref()
            .filter(|s| s.revision == revision && s.instance == instance)
        {
            return Ok(s.clone());
        }
        let mut snapshot = self.fetch().await?;
        snapshot.instance = instance;
        let snapshot = Arc::new(snapshot);
        *latest = Some(snapshot.clone());
        Ok(snapshot)
    }

    async fn fetch(&self) -> ServiceResult<Snapshot> {
        let mut client = self.client.clone();
        let fetch = async {
            let mut stream = client
                .export_records(self.request(pb::ExportRecordsRequest { batch_size: 5000 }))
                .await?
                .into_inner();
            let mut records = Vec::new();
            let mut revision = 0;
            while let Some(chunk) = stream.message().await? {
                revision = chunk.revision;
                records.extend(chunk.records);
            }
            Ok::<_, tonic::Status>((revision, records))
        };
        let (revision, messages) = tokio::time::timeout(self.timeout * 6, fetch)
            .await
            .map_err(|_| {
                ServiceError::Unavailable("the data service export did not finish in time".into())
            })?
            .map_err(upstream_error)?;
        let mut records = Vec::with_capacity(messages.len());
        for m in messages {
            let mut record = record_from_pb(m).map_err(|v| {
                ServiceError::internal(anyhow::anyhow!(
                    "unreadable record from the data service: {v:?}"
                ))
            })?;
            // Exported values are filled already; prepare only normalises.
            let _ = govlens_dataset::prepare(&mut record);
            records.push(record);
        }
        tracing::debug!(revision, records = records.len(), "fetched data snapshot");
        Ok(Snapshot {
            instance: String::new(),
            revision,
            records,
        })
    }
}
