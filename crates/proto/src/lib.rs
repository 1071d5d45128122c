//! The GovLens protobuf API, compiled once and re-exported to every service and client.

/// `govlens.data.v1`: the data service.
pub mod data {
    pub mod v1 {
        tonic::include_proto!("govlens.data.v1");
    }
}

/// `govlens.scoring.v1`: the scoring service.
pub mod scoring {
    pub mod v1 {
        tonic::include_proto!("govlens.scoring.v1");
    }
}

/// `govlens.recommendation.v1`: the recommendation service.
pub mod recommendation {
    pub mod v1 {
        tonic::include_proto!("govlens.recommendation.v1");
    }
}

/// `govlens.bench.v1`: the echo server the benchmarks compare against.
pub mod bench {
    pub mod v1 {
        tonic::include_proto!("govlens.bench.v1");
    }
}

/// Encoded `FileDescriptorSet` of every GovLens proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/govlens_descriptor.bin"));
