//! Cached answers sent as stored: a unary method whose answer is cached as its encoding
//! sends those bytes on a hit instead of decoding them into a message and encoding the
//! message again (for a 30 KB answer that is most of a hit's work).
//!
//! [`Reply`] is a message or its encoding, and is itself a prost message (a message's
//! encoding is the concatenation of its fields, so writing the stored bytes is writing
//! the message). [`EncodedReplies`] wraps a generated server and serves the methods
//! registered with it through handlers that answer with a [`Reply`]; every other
//! method goes to the generated server.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use prost::{DecodeError, Message};
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic::{Request, Response, Status};
use tower::Service;

/// A response: a message, or the encoding of one as it was cached.
#[derive(Clone, PartialEq)]
pub enum Reply<M> {
    Message(M),
    Encoded(Arc<Vec<u8>>),
}

impl<M: Message + Default> Reply<M> {
    /// The message (decoding the stored bytes if that is what this is).
    pub fn into_message(self) -> Result<M, DecodeError> {
        match self {
            Reply::Message(m) => Ok(m),
            Reply::Encoded(bytes) => M::decode(bytes.as_slice()),
        }
    }
}

impl<M: Default> Default for Reply<M> {
    fn default() -> Self {
        Reply::Message(M::default())
    }
}

impl<M: std::fmt::Debug> std::fmt::Debug for Reply<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Message(m) => m.fmt(f),
            Reply::Encoded(bytes) => write!(f, "Encoded({} bytes)", bytes.len()),
        }
    }
}

impl<M: Message + Default> Message for Reply<M> {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        match self {
            Reply::Message(m) => m.encode_raw(buf),
            Reply::Encoded(bytes) => buf.put_slice(bytes),
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        if let Reply::Encoded(bytes) = self {
            *self = Reply::Message(M::decode(bytes.as_slice())?);
        }
        match self {
            Reply::Message(m) => m.merge_field(tag, wire_type, buf, ctx),
            Reply::Encoded(_) => unreachable!("decoded just above"),
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Reply::Message(m) => m.encoded_len(),
            Reply::Encoded(bytes) => bytes.len(),
        }
    }

    fn clear(&mut self) {
        *self = Reply::Message(M::default());
    }
}

/// A handler's answer as the generated server wants it: the message, decoded from the
/// stored bytes if need be (callers that are not served through [`EncodedReplies`]).
pub fn message<M: Message + Default>(
    answer: Result<Response<Reply<M>>, Status>,
) -> Result<Response<M>, Status> {
    let (metadata, reply, extensions) = answer?.into_parts();
    let message = reply.into_message().map_err(|e| {
        Status::from(crate::error::ServiceError::internal(anyhow::anyhow!(
            "a cached answer could not be decoded: {e}"
        )))
    })?;
    Ok(Response::from_parts(metadata, message, extensions))
}

type Route =
    Arc<dyn Fn(http::Request<Body>) -> BoxFuture<'static, http::Response<Body>> + Send + Sync>;

/// A generated server with some unary methods served by handlers answering [`Reply`].
/// Message size limits apply as in the generated server; compression (off on our
/// servers) would have to be configured here as well.
pub struct EncodedReplies<S> {
    inner: S,
    routes: Arc<HashMap<&'static str, Route>>,
    max_decoding_message_size: Option<usize>,
    max_encoding_message_size: Option<usize>,
}

impl<S: Clone> Clone for EncodedReplies<S> {
    fn clone(&self) -> Self {
        EncodedReplies {
            inner: self.inner.clone(),
            routes: self.routes.clone(),
            max_decoding_message_size: self.max_decoding_message_size,
            max_encoding_message_size: self.max_encoding_message_size,
        }
    }
}

struct Handler<H>(H);

impl<Req, Resp, H, F> UnaryService<Req> for Handler<H>
where
    H: Fn(Request<Req>) -> F,
    F: Future<Output = Result<Response<Reply<Resp>>, Status>> + Send + 'static,
{
    type Response = Reply<Resp>;
    type Future = F;

    fn call(&mut self, request: Request<Req>) -> F {
        (self.0)(request)
    }
}

impl<S> EncodedReplies<S> {
    /// `inner` with the limits it was given: set the same ones here.
    pub fn new(
        inner: S,
        max_decoding_message_size: Option<usize>,
        max_encoding_message_size: Option<usize>,
    ) -> Self {
        EncodedReplies {
            inner,
            routes: Arc::new(HashMap::new()),
            max_decoding_message_size,
            max_encoding_message_size,
        }
    }

    /// Serves the unary method at `path` (`/package.Service/Method`) with `handler`.
    pub fn unary<Req, Resp, H, F>(mut self, path: &'static str, handler: H) -> Self
    where
        Req: Message + Default + Send + 'static,
        Resp: Message + Default + Send + 'static,
        H: Fn(Request<Req>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Result<Response<Reply<Resp>>, Status>> + Send + 'static,
    {
        let (decoding, encoding) = (
            self.max_decoding_message_size,
            self.max_encoding_message_size,
        );
        let route: Route = Arc::new(move |request| {
            let handler = Handler(handler.clone());
            Box::pin(async move {
                let codec = tonic_prost::ProstCodec::<Reply<Resp>, Req>::default();
                tonic::server::Grpc::new(codec)
                    .apply_max_message_size_config(decoding, encoding)
                    .unary(handler, request)
                    .await
            })
        });
        Arc::make_mut(&mut self.routes).insert(path, route);
        self
    }

    /// [`unary`](Self::unary) with a handler that takes its own clone of `api` per call:
    /// `.unary_on(PATH, &api, |api, req| async move { api.method(req).await })`.
    pub fn unary_on<A, Req, Resp, H, F>(self, path: &'static str, api: &A, handler: H) -> Self
    where
        A: Clone + Send + Sync + 'static,
        Req: Message + Default + Send + 'static,
        Resp: Message + Default + Send + 'static,
        H: Fn(A, Request<Req>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Result<Response<Reply<Resp>>, Status>> + Send + 'static,
    {
        let api = api.clone();
        self.unary(path, move |request| handler(api.clone(), request))
    }
}

impl<S> Service<http::Request<Body>> for EncodedReplies<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match self.routes.get(request.uri().path()) {
            Some(route) => {
                let answer = route(request);
                Box::pin(async move { Ok(answer.await) })
            }
            None => Box::pin(self.inner.call(request)),
        }
    }
}

impl<S: NamedService> NamedService for EncodedReplies<S> {
    const NAME: &'static str = S::NAME;
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Duration as Pb;

    #[test]
    fn stored_bytes_are_sent_as_they_are_and_read_back_as_the_message() {
        let message = Pb {
            seconds: 12,
            nanos: 34,
        };
        let stored = Arc::new(message.encode_to_vec());
        let reply: Reply<Pb> = Reply::Encoded(stored.clone());
        assert_eq!(reply.encoded_len(), stored.len());
        assert_eq!(reply.encode_to_vec(), *stored);
        assert_eq!(
            Reply::Message(message).encode_to_vec(),
            *stored,
            "both forms encode alike"
        );
        assert_eq!(reply.into_message().unwrap(), message);
        let decoded = Reply::<Pb>::decode(stored.as_slice()).unwrap();
        assert_eq!(decoded, Reply::Message(message));
    }

    #[test]
    fn bytes_that_are_no_message_fail_to_read() {
        let reply: Reply<Pb> = Reply::Encoded(Arc::new(vec![0xff, 0xff, 0xff]));
        assert!(reply.into_message().is_err());
    }
}
