//! `devex token create|list|revoke`: the lake's API tokens.

use chrono::Utc;
use ingest::lake::Lake;

use super::args::TokenCommand;
use super::commands::apply_lake;
use crate::auth::tokens::{parse_expiry, TokenStore};
use crate::auth::Role;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{aligned_lines, csv_text, OutputFormat};

/// Records a token change in the audit log.
async fn audit(lake: &Lake, action: &str, name: &str) -> Result<()> {
    let entry = ingest::audit::entry(
        &ingest::audit::local_actor(),
        action,
        Some(name),
        Some("cli"),
        "ok",
    );
    Ok(ingest::audit::record(lake, vec![entry]).await?)
}

pub async fn run(config: &mut Config, command: TokenCommand) -> Result<()> {
    let now = Utc::now();
    match command {
        TokenCommand::Create {
            lake,
            name,
            role,
            expires,
        } => {
            apply_lake(config, &lake);
            let lake = Lake::create_or_open(&config.lake)?;
            let role: Role = role.parse()?;
            let expires_at = parse_expiry(&expires, now)?;
            let (token, record) = TokenStore::new(&lake)
                .create(&name, role, expires_at, now)
                .await?;
            audit(
                &lake,
                "token.create",
                &format!("{} ({})", record.name, record.role.name()),
            )
            .await?;
            // The token alone on stdout, so scripts can capture it.
            super::output::print(&token)?;
            eprintln!(
                "Created token `{}` ({}), {}. It is shown this once; devex keeps only its hash.",
                record.name,
                record.role.name(),
                record
                    .expires_at
                    .map_or("without expiry".to_string(), |e| format!(
                        "expiring {}",
                        e.format("%Y-%m-%d %H:%M UTC")
                    )),
            );
            Ok(())
        }
        TokenCommand::List { lake, format } => {
            apply_lake(config, &lake);
            let lake = Lake::open_existing(&config.lake)?;
            let records = TokenStore::new(&lake).load().await?;
            let headers: Vec<String> = ["name", "role", "created", "expires", "state"]
                .iter()
                .map(|h| h.to_string())
                .collect();
            let day = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        r.role.name().to_string(),
                        day(r.created_at),
                        r.expires_at.map_or("never".into(), day),
                        r.state(now).to_string(),
                    ]
                })
                .collect();
            let text = match format {
                OutputFormat::Csv => csv_text(&headers, &rows)?,
                OutputFormat::Json => {
                    let list: Vec<serde_json::Value> = records
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "name": r.name, "role": r.role, "created_at": r.created_at,
                                "expires_at": r.expires_at, "revoked_at": r.revoked_at,
                                "state": r.state(now),
                            })
                        })
                        .collect();
                    serde_json::to_string_pretty(&list)
                        .map_err(|e| Error::Internal(e.to_string()))?
                }
                OutputFormat::Table if rows.is_empty() => {
                    "No tokens: devex serve answers this machine only.\nCreate one with devex token create --name NAME --role viewer|ingest|admin.".to_string()
                }
                OutputFormat::Table => {
                    let mut all = vec![headers];
                    all.extend(rows);
                    aligned_lines(&all).join("\n")
                }
            };
            super::output::print(&text)?;
            Ok(())
        }
        TokenCommand::Revoke { lake, name } => {
            apply_lake(config, &lake);
            let lake = Lake::open_existing(&config.lake)?;
            let revoked = TokenStore::new(&lake).revoke(&name, now).await?;
            audit(&lake, "token.revoke", &name).await?;
            eprintln!(
                "Revoked token `{name}` ({revoked}); a running server refuses it from now on."
            );
            Ok(())
        }
    }
}
