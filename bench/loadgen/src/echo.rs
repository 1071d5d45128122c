//! The baseline: a tonic server that only answers. No telemetry, cache or health layer,
//! so the GovLens services can be compared with the cost of gRPC itself.

use govlens_proto::bench::v1::echo_service_server::{EchoService, EchoServiceServer};
use govlens_proto::bench::v1::{EchoRequest, EchoResponse};
use tonic::{Request, Response, Status};

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let request = request.into_inner();
        let payload = match usize::try_from(request.response_bytes) {
            Ok(0) => request.payload,
            Ok(n) => vec![b'x'; n],
            Err(_) => return Err(Status::invalid_argument("response_bytes must be >= 0")),
        };
        Ok(Response::new(EchoResponse { payload }))
    }
}

pub async fn serve(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    eprintln!("echo server on {listen}");
    tonic::transport::Server::builder()
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_shutdown(listen, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
