//! sea-orm entities: one table per resource kind, plus the data revision and the
//! request ids that make creates idempotent. Enums are stored as their text names.

pub mod region {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "regions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub code: String,
        pub name: String,
        pub level: String,
        #[sea_orm(indexed)]
        pub parent_code: Option<String>,
        #[sea_orm(indexed, column_type = "Text")]
        pub path: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod population {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "populations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique_key = "natural")]
        pub region_code: String,
        #[sea_orm(unique_key = "natural")]
        pub year: i32,
        pub population: i64,
        pub value_as_printed: String,
        pub source_document: String,
        pub source_table: String,
        pub source_row: String,
        pub source_column: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod channel {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "channels")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub code: String,
        pub name: String,
        pub kind: String,
        pub vendor: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod platform {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "platforms")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub code: String,
        pub name: String,
        pub kind: String,
        #[sea_orm(indexed)]
        pub region_code: String,
        pub operator: String,
        pub launch_date: String,
        pub status: String,
        #[sea_orm(column_type = "Text")]
        pub url: String,
        pub source_document: String,
        pub source_table: String,
        pub source_row: String,
        pub source_column: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service_function {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_functions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub code: String,
        pub name: String,
        pub category: String,
        #[sea_orm(column_type = "Text")]
        pub description: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod platform_function {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "platform_functions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique_key = "natural")]
        pub platform_code: String,
        #[sea_orm(unique_key = "natural")]
        pub function_code: String,
        pub source_document: String,
        pub source_table: String,
        pub source_row: String,
        pub source_column: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod indicator {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "indicators")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub code: String,
        pub name: String,
        pub unit: String,
        pub direction: String,
        pub dimension: String,
        pub factor: String,
        #[sea_orm(column_type = "Text")]
        pub description: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod policy_document {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "policy_documents")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub code: String,
        #[sea_orm(indexed)]
        pub region_code: String,
        #[sea_orm(column_type = "Text")]
        pub title: String,
        pub issuer: String,
        pub year: Option<i32>,
        pub programme: String,
        pub toe_tags: String,
        pub source_document: String,
        pub source_table: String,
        pub source_row: String,
        pub source_column: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod observation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "observations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique_key = "natural")]
        pub platform_code: String,
        #[sea_orm(unique_key = "natural")]
        pub channel_code: String,
        #[sea_orm(unique_key = "natural")]
        pub metric: String,
        #[sea_orm(unique_key = "natural")]
        pub observed_on: String,
        pub value: f64,
        pub value_as_printed: String,
        pub source_document: String,
        pub source_table: String,
        pub source_row: String,
        pub source_column: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod indicator_value {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "indicator_values")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique_key = "natural")]
        pub indicator_code: String,
        #[sea_orm(unique_key = "natural")]
        pub subject_kind: String,
        #[sea_orm(unique_key = "natural")]
        pub subject_code: String,
        #[sea_orm(unique_key = "natural")]
        pub period: String,
        pub value: f64,
        pub value_as_printed: String,
        pub source_document: String,
        pub source_table: String,
        pub source_row: String,
        pub source_column: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod reported_aggregate {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "reported_aggregates")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub code: String,
        pub kind: String,
        pub subject_kind: String,
        #[sea_orm(indexed)]
        pub subject_code: String,
        pub metric: String,
        pub observed_on: String,
        pub value: f64,
        pub value_as_printed: String,
        #[sea_orm(column_type = "Text")]
        pub description: String,
        pub source_document: String,
        pub source_table: String,
        pub source_row: String,
        pub source_column: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod data_revision {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "data_revision")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub revision: i64,
        /// Random identity of this database, set once at migration: revisions count
        /// per database, so caches shared by several databases key on both.
        pub instance: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod create_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "create_requests")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub request_id: String,
        pub resource: String,
        pub resource_key: String,
        pub created_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod api_token {
    use sea_orm::entity::prelude::*;

    /// An API token: only the SHA-256 of its secret is kept.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub subject: String,
        pub role: String,
        /// Region code whose subtree an editor may write; `None`: every region.
        pub scope: Option<String>,
        pub secret_hash: String,
        pub created_at: String,
        pub revoked_at: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit_event {
    use sea_orm::entity::prelude::*;

    /// One committed write, in the write's own transaction.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: String,
        #[sea_orm(indexed)]
        pub subject: String,
        pub token_id: Option<String>,
        pub role: String,
        pub action: String,
        #[sea_orm(indexed)]
        pub resource: String,
        #[sea_orm(column_type = "Text")]
        pub resource_key: String,
        pub request_id: String,
        pub revision: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
