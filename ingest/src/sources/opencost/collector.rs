//! `devex ingest opencost --url URL [--window 30d] [--aggregate
//! namespace|label:KEY]`: `GET /allocation?window=..&aggregate=..&step=1d
//! &accumulate=false`, one set of allocations per day.
//!
//! Each allocation and day becomes a cost row: provider `OpenCost`,
//! `totalCost` as its cost, the namespace (or the label's value, under the
//! label's key), cluster and labels as tags, so the cost rules place it
//! (namespace annotation, service or team tags). Only whole days are taken
//! (a day still running would be stored before it is complete); a row's id
//! is its allocation and day, so runs over overlapping windows never count a
//! day twice.

use futures::future::BoxFuture;
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::str::FromStr;

use super::config::OpencostConfig;
use crate::canonical::{Cost, Micros, Row, Rows, ScaledMoney};
use crate::error::{Error, Result};
use crate::sources::http::{api_root, encode, Patience, ToolClient};
use crate::sources::json::time;
use crate::sources::{
    Cursor, Cursors, ProgressEvent, Source, SourceSection, SyncContext, SyncReport, SyncRequest,
};

const RESOURCE: &str = "allocations";

pub struct OpenCost {
    client: ToolClient,
    base: String,
    config: OpencostConfig,
}

impl OpenCost {
    pub fn build(section: &SourceSection) -> Result<Box<dyn Source>> {
        let config = OpencostConfig::from_section(section)?;
        let base = config.base_url.clone().filter(|u| !u.is_empty()).ok_or_else(|| {
            Error::SourceConfig {
                message: "OpenCost needs its API's address: pass --url http://opencost.opencost:9003 (or set [opencost] base_url)".into(),
            }
        })?;
        if config.aggregate != "namespace" && !config.aggregate.starts_with("label:") {
            return Err(Error::SourceConfig {
                message: format!(
                    "[opencost] aggregate `{}` is not `namespace` or `label:KEY`",
                    config.aggregate
                ),
            });
        }
        let client = ToolClient::new(
            "OpenCost",
            config
                .token
                .clone()
                .filter(|t| !t.is_empty())
                .map(|t| ("authorization", format!("Bearer {t}"))),
            "Check the token your proxy in front of OpenCost expects (OPENCOST_TOKEN or [opencost] token)",
            Patience::default(),
        )?;
        Ok(Box::new(OpenCost {
            client,
            base: api_root(Some(base), ""),
            config,
        }))
    }

    async fn run(&self, context: &SyncContext<'_>, _request: &SyncRequest) -> Result<SyncReport> {
        let progress = context.progress;
        let scope = self.base.as_str();
        progress.event(ProgressEvent::Started {
            scope,
            resource: RESOURCE,
        });
        let url = format!(
            "{}/allocation?window={}&aggregate={}&step=1d&accumulate=false",
            self.base,
            encode(&self.config.window),
            encode(&self.config.aggregate)
        );
        let body = match self.client.get(&url, progress).await? {
            Some(page) => page.body,
            None => Json::Null,
        };
        if body["code"].as_i64().is_some_and(|code| code != 200) {
            return Err(Error::SourcePayload {
                url,
                message: format!("OpenCost answered {}: {}", body["code"], body["message"]),
            });
        }
        let today = chrono::Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_micros();
        let rows = rows(&body, &self.config, today).map_err(|message| Error::SourcePayload {
            url: url.clone(),
            message,
        })?;
        let mut cursors = Cursors::load(context.lake, "opencost").await?;
        let cursor = Cursor {
            at: rows
                .iter()
                .filter_map(|(_, values)| match values.get(1) {
                    Some(crate::rows::Value::Timestamp(at)) => Some(*at),
                    _ => None,
                })
                .max()
                .unwrap_or_default(),
            ..Cursor::default()
        };
        let stored = cursors
            .store(
                context,
                (scope, RESOURCE),
                rows,
                cursor,
                self.client.counts().requests,
            )
            .await?;
        Ok(SyncReport::new(
            "opencost",
            vec![stored],
            self.client.counts(),
        ))
    }
}

/// The rows of an allocation response, whole days (ending by `today`) only.
pub fn rows(body: &Json, config: &OpencostConfig, today: i64) -> std::result::Result<Rows, String> {
    let label = config.aggregate.strip_prefix("label:");
    let mut rows = Vec::new();
    for step in body["data"].as_array().into_iter().flatten() {
        let Some(allocations) = step.as_object() else {
            continue;
        };
        for (key, allocation) in allocations {
            let start = time(allocation, "window.start").map_err(|e| format!("{key}: {}", e.0))?;
            let end = time(allocation, "window.end").map_err(|e| format!("{key}: {}", e.0))?;
            if end > today {
                continue;
            }
            rows.push(row(key, allocation, (start, end), config, label)?);
        }
    }
    Ok(rows)
}

fn row(
    key: &str,
    allocation: &Json,
    (start, end): (i64, i64),
    config: &OpencostConfig,
    label: Option<&str>,
) -> std::result::Result<Row, String> {
    let properties = &allocation["properties"];
    let cluster = properties["cluster"].as_str().unwrap_or("").to_string();
    // The number as OpenCost wrote it, read as a decimal.
    let total = allocation["totalCost"]
        .as_number()
        .and_then(|n| {
            Decimal::from_str(&n.to_string())
                .or_else(|_| Decimal::from_scientific(&n.to_string()))
                .ok()
        })
        .ok_or(format!("{key}: `totalCost` is not a number"))?;
    let amount = ScaledMoney::from_decimal(total)
        .ok_or(format!("{key}: `totalCost` {total} is out of range"))?;
    let mut tags = std::collections::BTreeMap::new();
    for labels in ["namespaceLabels", "labels"] {
        if let Some(map) = properties[labels].as_object() {
            for (k, v) in map {
                if let Some(v) = v.as_str() {
                    tags.insert(k.clone(), v.to_string());
                }
            }
        }
    }
    if let Some(namespace) = properties["namespace"].as_str() {
        tags.insert("namespace".into(), namespace.to_string());
    }
    if let Some(label) = label {
        tags.insert(label.to_string(), key.to_string());
    }
    if !cluster.is_empty() {
        tags.insert("cluster".into(), cluster.clone());
    }
    Ok(Cost {
        event_id: format!("opencost:{}:{cluster}:{key}:{start}", config.aggregate),
        charge_period_start: Micros(start),
        charge_period_end: Micros(end),
        billed_cost: amount,
        effective_cost: Some(amount),
        list_cost: None,
        billing_currency: config.currency.clone(),
        charge_category: Some("Usage".into()),
        provider_name: Some("OpenCost".into()),
        service_name: Some("Kubernetes".into()),
        resource_id: Some(format!("{cluster}/{key}")),
        resource_name: Some(key.to_string()),
        sub_account_name: (!cluster.is_empty()).then_some(cluster),
        tags: Some(serde_json::to_string(&tags).map_err(|e| e.to_string())?),
        source_currency: None,
        exchange_rate: None,
    }
    .into())
}

impl Source for OpenCost {
    fn name(&self) -> &'static str {
        "opencost"
    }

    fn sync<'a>(
        &'a self,
        context: &'a SyncContext<'a>,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncReport>> {
        Box::pin(self.run(context, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Value;

    #[test]
    fn the_published_allocations_become_cost_rows() {
        let body =
            crate::sources::fixtures::json("opencost-website/allocation-example-output.json");
        let config = OpencostConfig::default();
        let rows = rows(&body, &config, i64::MAX).unwrap();
        assert_eq!(rows.len(), 3, "kube-system, opencost, prometheus");
        let (table, kube) = &rows[0];
        assert_eq!(table.name, "costs");
        assert_eq!(
            kube[0],
            Value::text("opencost:namespace:default-cluster:kube-system:1689159766000000")
        );
        // totalCost 1.52743, exactly.
        assert_eq!(kube[3], Value::Money(15_274_300_000));
        assert_eq!(
            kube[13],
            Value::text(
                r#"{"cluster":"default-cluster","kubernetes_io_metadata_name":"kube-system","namespace":"kube-system"}"#
            )
        );
        // A window still running is left for the next run.
        assert!(rows_until(&body, 0).is_empty());
    }

    fn rows_until(body: &Json, today: i64) -> Rows {
        rows(body, &OpencostConfig::default(), today).unwrap()
    }
}
