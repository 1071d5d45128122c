//! `govlens token`: issue, list and revoke API tokens, straight in the data service's
//! database (the admin's bootstrap: no token is needed to make the first one).

use std::path::PathBuf;

use govlens_data::store::Store;
use govlens_data::tokens::{self, TokenInfo};
use govlens_kit::auth::Role;

#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    /// The data service's database (postgres://... or sqlite://...); by default the
    /// embedded one of `govlens up` in --data-dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Directory of the embedded database.
    #[arg(
        long,
        env = "GOVLENS_DATA_DIR",
        default_value = ".govlens",
        global = true
    )]
    data_dir: PathBuf,
}

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// Issue a token and print it (once: only its hash is stored).
    Issue {
        /// Who the token is for; it appears in the audit log.
        #[arg(long)]
        subject: String,
        /// reader, editor or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Region code whose subtree an editor may write (e.g. cn-gz); omit for every region.
        #[arg(long)]
        region: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id; it stops working within seconds.
    Revoke { id: String },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("{text:?}: write reader, editor or admin"))
}

fn show(t: &TokenInfo) -> String {
    format!(
        "{}  {:<20}  {:<7}  {:<10}  created {}{}",
        t.id,
        t.subject,
        t.role,
        t.scope.as_deref().unwrap_or("*"),
        t.created_at,
        t.revoked_at
            .as_deref()
            .map(|r| format!("  REVOKED {r}"))
            .unwrap_or_default()
    )
}

pub async fn run(args: TokenArgs) -> anyhow::Result<()> {
    let url = match args.database_url {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(&args.data_dir)?;
            format!("sqlite://{}/govlens.db?mode=rwc", args.data_dir.display())
        }
    };
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let explain = |e: govlens_kit::ServiceError| anyhow::anyhow!("{e}");
    match args.command {
        TokenCommand::Issue {
            subject,
            role,
            region,
        } => {
            let (token, info) = tokens::issue(&store, &subject, role, region.as_deref())
                .await
                .map_err(explain)?;
            eprintln!("issued {}", show(&info));
            eprintln!("the token is shown once; keep it secret (GOVLENS_TOKEN or --token):");
            println!("{token}");
        }
        TokenCommand::List => {
            for t in tokens::list(&store).await.map_err(explain)? {
                println!("{}", show(&t));
            }
        }
        TokenCommand::Revoke { id } => {
            let info = tokens::revoke(&store, &id).await.map_err(explain)?;
            println!("{}", show(&info));
        }
    }
    Ok(())
}
