//! Revision leases: the data service pushes its revision to the services that read it,
//! so that a cached answer needs no round trip and is still never older than a write
//! its caller has seen acknowledged.
//!
//! The protocol (`DataService/WatchDataRevision`), for a reader R and the data service D:
//! - R sends a renewal (a sequence number) and remembers when it sent it. D, if it is
//!   the only process writing its database ([`SoleWriter`]), answers with the current
//!   revision and a lease of `L`. R trusts the revision until `sent + L` (less a margin);
//!   D counts the lease from when it answered, which is later, so D's end is later.
//! - After a write commits, D pushes the new revision to every reader whose lease has
//!   not ended, and acknowledges the write to its caller only once each of them has
//!   acknowledged it, or its lease has ended. A reader that vanished costs a write at
//!   most `L`.
//! - R answers from the leased revision while the lease lasts and asks per call after.
//!
//! The scoring service leases the revision of its model store the same way
//! (`ScoringService/WatchModelRevision`), so that readers know the latest model
//! versions without asking per call; its messages map one to one onto these.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt as _;
use govlens_proto::data::v1 as pb;
use govlens_proto::data::v1::data_service_client::DataServiceClient;
use govlens_proto::scoring::v1 as scoring_pb;
use govlens_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};

use crate::sole_writer::SoleWriter;
use crate::telemetry::propagation::TracedChannel;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---- the data service's side ----

type Outgoing = mpsc::UnboundedSender<Result<pb::WatchDataRevisionResponse, tonic::Status>>;

/// The stream of revisions a reader watches.
pub type WatchStream =
    UnboundedReceiverStream<Result<pb::WatchDataRevisionResponse, tonic::Status>>;

struct Watcher {
    out: Outgoing,
    acked: watch::Receiver<i64>,
    /// When its lease ends as the data service counts it (later than the reader does).
    until: Option<Instant>,
}

struct HubState {
    instance: String,
    revision: i64,
    next_id: u64,
    watchers: HashMap<u64, Watcher>,
    /// The latest lease end of readers that went away: they may still trust it.
    departed_until: Option<Instant>,
    /// Shutting down: watches end and no new one starts.
    closed: bool,
    /// Until when the last check found this process alone. A check that starts after
    /// that found a gap, in which another process may have written: the revision is
    /// read again before the next grant.
    alone_until: Option<Instant>,
}

/// Reads the database's identity and current revision.
pub type ReadRevision =
    Box<dyn Fn() -> futures::future::BoxFuture<'static, Option<(String, i64)>> + Send + Sync>;

/// Grants revision leases to readers and holds writes until readers have them.
pub struct LeaseHub {
    lease: Duration,
    writer: Option<Arc<SoleWriter>>,
    read_revision: ReadRevision,
    state: Mutex<HubState>,
}

impl LeaseHub {
    /// A hub at `revision` of database `instance`. Without a `writer` registration
    /// (SQLite), or with one that may not trust being alone (leases turned off), it
    /// never grants a lease and holds no write.
    /// `read_revision` reads the revision again after another process may have written.
    pub fn new(
        instance: String,
        revision: i64,
        writer: Option<Arc<SoleWriter>>,
        read_revision: ReadRevision,
    ) -> Arc<LeaseHub> {
        // A lease lasts as long as the check that this process writes alone.
        let lease = match &writer {
            Some(w) if w.trusting() => w.window(),
            _ => Duration::ZERO,
        };
        Arc::new(LeaseHub {
            lease,
            writer,
            read_revision,
            state: Mutex::new(HubState {
                instance,
                revision,
                next_id: 0,
                watchers: HashMap::new(),
                departed_until: None,
                closed: false,
                alone_until: None,
            }),
        })
    }

    /// Ends every watch (their readers stop trusting their leases, or will when the
    /// leases end) and refuses new ones: a server shutting down drains its in-flight
    /// calls, and watches would never finish on their own.
    pub fn close(&self) {
        let mut st = lock(&self.state);
        st.closed = true;
        let departed = st.watchers.drain().filter_map(|(_, w)| w.until).max();
        st.departed_until = st.departed_until.max(departed);
    }

    /// Serves one reader: renewals and acknowledgements come in `requests`, grants
    /// and news of writes go out on the returned stream. UNAVAILABLE once closed.
    pub fn watch<S>(self: &Arc<Self>, mut requests: S) -> Result<WatchStream, tonic::Status>
    where
        S: futures::Stream<Item = Result<pb::WatchDataRevisionRequest, tonic::Status>>
            + Send
            + Unpin
            + 'static,
    {
        let (out, rx) = mpsc::unbounded_channel();
        let (acked_tx, acked) = watch::channel(0i64);
        let id = {
            let mut st = lock(&self.state);
            if st.closed {
                return Err(tonic::Status::unavailable("the service is shutting down"));
            }
            st.next_id += 1;
            let id = st.next_id;
            st.watchers.insert(
                id,
                Watcher {
                    out,
                    acked,
                    until: None,
                },
            );
            id
        };
        let hub = self.clone();
        tokio::spawn(async move {
            while let Some(Ok(request)) = requests.next().await {
                if request.acknowledged_revision != 0 {
                    acked_tx.send_if_modified(|a| {
                        let newer = request.acknowledged_revision > *a;
                        if newer {
                            *a = request.acknowledged_revision;
                        }
                        newer
                    });
                }
                if request.renew_sequence != 0 {
                    hub.renew(id, request.renew_sequence).await;
                }
            }
            let mut st = lock(&hub.state);
            if let Some(w) = st.watchers.remove(&id) {
                st.departed_until = st.departed_until.max(w.until);
            }
        });
        Ok(UnboundedReceiverStream::new(rx))
    }

    async fn renew(&self, id: u64, sequence: u64) {
        let alone = match &self.writer {
            Some(writer) if !self.lease.is_zero() => writer.alone_until().await,
            _ => None,
        };
        let mut granted = alone.is_some_and(|until| until > Instant::now());
        let gap = {
            let mut st = lock(&self.state);
            if alone.is_none() {
                st.alone_until = None;
            }
            let checked = alone.map(|until| until - self.lease);
            match (st.alone_until, checked) {
                (Some(previous), Some(checked)) => previous <= checked,
                _ => true,
            }
        };
        if granted && gap {
            // Alone again: whatever happened meanwhile, start from the database. Until
            // that read is in, concurrent renewals see the gap too.
            match (self.read_revision)().await {
                Some((instance, revision)) => {
                    let mut st = lock(&self.state);
                    if st.instance != instance {
                        st.instance = instance;
                        st.revision = revision;
                    } else {
                        st.revision = st.revision.max(revision);
                    }
                }
                None => granted = false,
            }
        }
        if granted {
            let mut st = lock(&self.state);
            st.alone_until = st.alone_until.max(alone);
        }
        let now = Instant::now();
        granted = granted && alone.is_some_and(|until| until > now);
        let mut st = lock(&self.state);
        let (instance, revision) = (st.instance.clone(), st.revision);
        let Some(w) = st.watchers.get_mut(&id) else {
            return;
        };
        if granted {
            w.until = Some(now + self.lease);
        }
        let _ = w.out.send(Ok(pb::WatchDataRevisionResponse {
            revision,
            instance,
            renew_sequence: sequence,
            lease_millis: if granted {
                self.lease.as_millis() as u32
            } else {
                0
            },
        }));
    }

    /// Called after a write committed `revision`: returns once every reader holding a
    /// lease has acknowledged it or its lease has ended.
    pub async fn published(&self, revision: i64) {
        let now = Instant::now();
        let (waits, departed) = {
            let mut st = lock(&self.state);
            st.revision = st.revision.max(revision);
            let news = pb::WatchDataRevisionResponse {
                revision: st.revision,
                instance: st.instance.clone(),
                renew_sequence: 0,
                lease_millis: 0,
            };
            let waits: Vec<_> = st
                .watchers
                .values()
                .filter_map(|w| {
                    let until = w.until.filter(|u| *u > now)?;
                    let _ = w.out.send(Ok(news.clone()));
                    Some((w.acked.clone(), until))
                })
                .collect();
            (waits, st.departed_until.filter(|u| *u > now))
        };
        let acks = waits.into_iter().map(|(mut acked, until)| async move {
            let gone = tokio::time::timeout_at(until, acked.wait_for(|a| *a >= revision))
                .await
                .is_ok_and(|acked| acked.is_err());
            if gone {
                // The reader went away without acknowledging: it may trust its lease
                // until it ends.
                tokio::time::sleep_until(until).await;
            }
        });
        futures::future::join_all(acks).await;
        if let Some(until) = departed {
            tokio::time::sleep_until(until).await;
        }
    }

    /// Whether this hub grants leases at all (it may still refuse one while another
    /// process writes the same database).
    pub fn granting(&self) -> bool {
        !self.lease.is_zero()
    }

    /// How many readers are connected (for tests and metrics).
    pub fn readers(&self) -> usize {
        lock(&self.state).watchers.len()
    }
}

/// `stop` (a server's shutdown future), which also closes the lease hub, if one was
/// started by then, when it resolves: a server drains its in-flight calls before it
/// stops, and watches never end on their own.
pub async fn closing_watches<F: std::future::Future>(
    stop: F,
    hub: impl FnOnce() -> Option<Arc<LeaseHub>>,
) -> F::Output {
    let out = stop.await;
    if let Some(hub) = hub() {
        hub.close();
    }
    out
}

// ---- the reader's side ----

#[derive(Default)]
struct Held {
    instance: String,
    revision: i64,
    until: Option<Instant>,
    /// Renewals sent and not yet answered, oldest first.
    sent: VecDeque<(u64, Instant)>,
    next_sequence: u64,
}

/// The data revision as leased from the data service.
#[derive(Default)]
pub struct RevisionLease {
    held: Mutex<Held>,
}

impl RevisionLease {
    /// The database identity and revision, while a lease lasts.
    pub fn current(&self) -> Option<(String, i64)> {
        let held = lock(&self.held);
        let until = held.until?;
        (Instant::now() < until).then(|| (held.instance.clone(), held.revision))
    }

    fn renewal(&self) -> u64 {
        let mut held = lock(&self.held);
        held.next_sequence += 1;
        let sequence = held.next_sequence;
        held.sent.push_back((sequence, Instant::now()));
        if held.sent.len() > 64 {
            held.sent.pop_front();
        }
        sequence
    }

    /// Takes in a grant or the news of a write; gives the revision to acknowledge.
    fn receive(&self, r: &pb::WatchDataRevisionResponse) -> i64 {
        let mut held = lock(&self.held);
        if held.instance != r.instance {
            held.instance = r.instance.clone();
            held.revision = r.revision;
        } else {
            held.revision = held.revision.max(r.revision);
        }
        if r.renew_sequence != 0 {
            while held
                .sent
                .front()
                .is_some_and(|(s, _)| *s < r.renew_sequence)
            {
                held.sent.pop_front();
            }
            if let Some((s, sent)) = held.sent.front().copied() {
                if s == r.renew_sequence {
                    held.sent.pop_front();
                    // 10 % off for clocks that run at slightly different rates.
                    let lease = Duration::from_millis(u64::from(r.lease_millis)).mul_f64(0.9);
                    held.until = (!lease.is_zero()).then(|| sent + lease);
                }
            }
        }
        held.revision
    }

    fn lose(&self) {
        let mut held = lock(&self.held);
        held.until = None;
        held.sent.clear();
    }
}

/// How often a reader renews its lease: well inside a lease ([`crate::sole_writer::WINDOW`]),
/// so that one late renewal does not lose it.
pub const RENEW_EVERY: Duration = Duration::from_millis(60);

/// Opens one watch: takes the stream of the reader's renewals and acknowledgements,
/// gives the stream of the server's grants and news.
type OpenWatch = Arc<
    dyn Fn(
            ReceiverStream<pb::WatchDataRevisionRequest>,
        ) -> BoxFuture<'static, Result<WatchAnswers, tonic::Status>>
        + Send
        + Sync,
>;
type WatchAnswers = BoxStream<'static, Result<pb::WatchDataRevisionResponse, tonic::Status>>;

fn lazy_channel(addr: &str) -> anyhow::Result<TracedChannel> {
    let channel = crate::tls::endpoint(addr)?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .connect_lazy();
    Ok(crate::telemetry::propagation::traced(channel))
}

/// Watches the revision of the data service at `addr` in the background, on a
/// connection of its own, for as long as the returned lease is in use: renews every
/// `renew_every`, reconnects after failures. Needs a Tokio runtime.
pub fn watch_data_revision(
    addr: &str,
    renew_every: Duration,
) -> anyhow::Result<Arc<RevisionLease>> {
    let client = DataServiceClient::new(lazy_channel(addr)?);
    let open: OpenWatch = Arc::new(move |requests| {
        let mut client = client.clone();
        Box::pin(async move {
            let answers = client.watch_data_revision(requests).await?.into_inner();
            Ok(answers.boxed())
        })
    });
    Ok(watch_revision(open, renew_every))
}

/// Watches the revision of the model store of the scoring service at `addr`
/// (`ScoringService/WatchModelRevision`, the same protocol), as
/// [`watch_data_revision`] does.
pub fn watch_model_revision(
    addr: &str,
    renew_every: Duration,
) -> anyhow::Result<Arc<RevisionLease>> {
    let client = ScoringServiceClient::new(lazy_channel(addr)?);
    let open: OpenWatch = Arc::new(move |requests| {
        let mut client = client.clone();
        Box::pin(async move {
            let requests = requests.map(|r| scoring_pb::WatchModelRevisionRequest {
                renew_sequence: r.renew_sequence,
                acknowledged_revision: r.acknowledged_revision,
            });
            let answers = client.watch_model_revision(requests).await?.into_inner();
            Ok(answers
                .map(|r| {
                    r.map(|r| pb::WatchDataRevisionResponse {
                        revision: r.revision,
                        instance: r.instance,
                        renew_sequence: r.renew_sequence,
                        lease_millis: r.lease_millis,
                    })
                })
                .boxed())
        })
    });
    Ok(watch_revision(open, renew_every))
}

/// Serves `ScoringService/WatchModelRevision` from a hub: the same protocol in the
/// scoring service's messages.
pub fn watch_model_revision_with<S>(
    hub: &Arc<LeaseHub>,
    requests: S,
) -> Result<ModelWatchStream, tonic::Status>
where
    S: futures::Stream<Item = Result<scoring_pb::WatchModelRevisionRequest, tonic::Status>>
        + Send
        + Unpin
        + 'static,
{
    let requests = requests.map(|r| {
        r.map(|r| pb::WatchDataRevisionRequest {
            renew_sequence: r.renew_sequence,
            acknowledged_revision: r.acknowledged_revision,
        })
    });
    let answers = hub.watch(requests)?;
    Ok(answers
        .map(|r| {
            r.map(|r| scoring_pb::WatchModelRevisionResponse {
                revision: r.revision,
                instance: r.instance,
                renew_sequence: r.renew_sequence,
                lease_millis: r.lease_millis,
            })
        })
        .boxed())
}

/// The stream of model-store revisions a reader watches.
pub type ModelWatchStream =
    BoxStream<'static, Result<scoring_pb::WatchModelRevisionResponse, tonic::Status>>;

fn watch_revision(open: OpenWatch, renew_every: Duration) -> Arc<RevisionLease> {
    let lease = Arc::new(RevisionLease::default());
    tokio::spawn(run_watch(Arc::downgrade(&lease), open, renew_every));
    lease
}

async fn run_watch(lease: Weak<RevisionLease>, open: OpenWatch, renew_every: Duration) {
    let mut pause = Duration::from_millis(100);
    let mut refused_before = false;
    loop {
        let Some(held) = lease.upgrade() else { return };
        let ended = watch_once(&held, &open, renew_every, &lease).await;
        held.lose();
        drop(held);
        match ended {
            // Served, then cut: try again soon.
            Ok(()) => pause = Duration::from_millis(100),
            Err(status) if status.code() == tonic::Code::Unimplemented => {
                pause = Duration::from_secs(30)
            }
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
                ) =>
            {
                // Not an outage: a wrong or missing service token. Reads still work
                // (asking per call), only slower, so say why.
                if !refused_before {
                    tracing::warn!(%status, "revision lease refused; check GOVLENS_SERVICE_TOKEN");
                    refused_before = true;
                }
                pause = Duration::from_secs(5);
            }
            Err(status) => {
                tracing::debug!(%status, "revision watch failed");
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
        tokio::time::sleep(pause).await;
    }
}

async fn watch_once(
    held: &RevisionLease,
    open: &OpenWatch,
    renew_every: Duration,
    alive: &Weak<RevisionLease>,
) -> Result<(), tonic::Status> {
    let (tx, rx) = mpsc::channel(64);
    let renew = |held: &RevisionLease| pb::WatchDataRevisionRequest {
        renew_sequence: held.renewal(),
        acknowledged_revision: 0,
    };
    let _ = tx.try_send(renew(held));
    let mut responses = open(ReceiverStream::new(rx)).await?;
    let mut tick = tokio::time::interval(renew_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if alive.strong_count() <= 1 {
                    // Only this task still holds the lease: nobody reads it any more.
                    return Ok(());
                }
                if tx.try_send(renew(held)).is_err() {
                    return Ok(());
                }
            }
            message = responses.next() => match message.transpose()? {
                Some(r) => {
                    let revision = held.receive(&r);
                    if r.renew_sequence == 0 {
                        let ack = pb::WatchDataRevisionRequest {
                            renew_sequence: 0,
                            acknowledged_revision: revision,
                        };
                        if tx.send(ack).await.is_err() {
                            return Ok(());
                        }
                    }
                }
                None => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(sequence: u64, revision: i64, lease_millis: u32) -> pb::WatchDataRevisionResponse {
        pb::WatchDataRevisionResponse {
            revision,
            instance: "db".into(),
            renew_sequence: sequence,
            lease_millis,
        }
    }

    #[tokio::test]
    async fn a_lease_counts_from_the_renewal_and_ends() {
        tokio::time::pause();
        let lease = RevisionLease::default();
        assert_eq!(lease.current(), None, "no lease before a grant");
        let s = lease.renewal();
        tokio::time::advance(Duration::from_millis(50)).await;
        lease.receive(&grant(s, 7, 100));
        assert_eq!(lease.current(), Some(("db".into(), 7)));
        // 90 ms after the renewal was sent, not after the grant came.
        tokio::time::advance(Duration::from_millis(41)).await;
        assert_eq!(lease.current(), None);
    }

    #[tokio::test]
    async fn news_of_a_write_moves_the_revision_forward_only() {
        tokio::time::pause();
        let lease = RevisionLease::default();
        let s = lease.renewal();
        lease.receive(&grant(s, 7, 1000));
        assert_eq!(lease.receive(&grant(0, 9, 0)), 9);
        assert_eq!(
            lease.receive(&grant(0, 8, 0)),
            9,
            "late news never goes back"
        );
        assert_eq!(lease.current(), Some(("db".into(), 9)));
        let s = lease.renewal();
        lease.receive(&grant(s, 9, 0));
        assert_eq!(lease.current(), None, "a refused renewal ends the lease");
    }

    #[tokio::test]
    async fn a_hub_without_a_writer_registration_grants_nothing_and_holds_no_write() {
        let hub = LeaseHub::new("db".into(), 3, None, Box::new(|| Box::pin(async { None })));
        let (tx, rx) = mpsc::channel(4);
        let mut out = hub.watch(ReceiverStream::new(rx).map(Ok)).unwrap();
        tx.send(pb::WatchDataRevisionRequest {
            renew_sequence: 1,
            acknowledged_revision: 0,
        })
        .await
        .unwrap();
        let r = out.next().await.unwrap().unwrap();
        assert_eq!((r.revision, r.renew_sequence, r.lease_millis), (3, 1, 0));
        tokio::time::timeout(Duration::from_secs(1), hub.published(4))
            .await
            .expect("a write waits for nobody without leases");
        hub.close();
        assert!(out.next().await.is_none(), "closing ends the watch");
        let (_tx, rx) = mpsc::channel(4);
        assert!(hub.watch(ReceiverStream::new(rx).map(Ok)).is_err());
    }
}
