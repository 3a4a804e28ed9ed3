//! Monthly cloud cost lines of each service.

use super::*;
use crate::canonical::{Cost, Micros, ScaledMoney};

/// Daily FOCUS-style cost rows for a service's cloud resources, growing over the year.
pub(super) fn costs(
    org: &Org,
    service: usize,
    rng: &mut ChaCha8Rng,
    out: &mut Output,
) -> Result<()> {
    let (name, owner) = &org.services[service];
    let team = &org.teams[*owner].name;
    let resources = [
        (
            "Amazon Elastic Compute Cloud",
            "Compute",
            "ec2",
            lognormal(rng, 40.0, 0.5),
        ),
        (
            "Amazon Relational Database Service",
            "Databases",
            "rds",
            lognormal(rng, 25.0, 0.5),
        ),
        (
            "Amazon Simple Queue Service",
            "Integration",
            "sqs",
            lognormal(rng, 1.5, 0.7),
        ),
    ];
    let total_days = (org.end_day - org.start_day).num_days().max(1) as f64;
    for (i, day) in days(org.start_day, org.end_day).enumerate() {
        let growth = 1.0 + 0.3 * i as f64 / total_days;
        let weekday = if is_weekend(day) { 0.8 } else { 1.0 };
        let start = day_start(day);
        for (service_name, _category, kind, base) in &resources {
            let billed = base * growth * weekday * (1.0 + 0.1 * normal(rng)).max(0.5);
            // Compute runs under a savings plan.
            let effective = if *kind == "ec2" {
                billed * 0.72
            } else {
                billed
            };
            let money = |v: f64| ScaledMoney((v * 1e10).round() as i128);
            out.push_row(Cost {
                event_id: format!("demo:cost:{name}:{kind}:{start}"),
                charge_period_start: Micros(start),
                charge_period_end: Micros(start + DAY),
                billed_cost: money(billed),
                effective_cost: Some(money(effective)),
                list_cost: Some(money(billed)),
                billing_currency: "USD".into(),
                charge_category: Some("Usage".into()),
                provider_name: Some("AWS".into()),
                service_name: Some(service_name.to_string()),
                resource_id: Some(format!("arn:aws:{kind}:eu-west-1:123456789012:{name}")),
                resource_name: None,
                sub_account_name: Some(format!("{}-prod", org.teams[*owner].group)),
                tags: Some(format!("{{\"service\":\"{name}\",\"team\":\"{team}\"}}")),
                source_currency: None,
                exchange_rate: None,
            })?;
        }
    }
    Ok(())
}

/// A cost row of the organisation as a whole, in USD.
fn org_row(
    id: String,
    start: i64,
    end: i64,
    amount: f64,
    category: &str,
    (provider, service_name, resource): (&str, &str, String),
    tags: Option<String>,
) -> Cost {
    let money = ScaledMoney((amount * 100.0).round() as i128 * 100_000_000);
    Cost {
        event_id: id,
        charge_period_start: Micros(start),
        charge_period_end: Micros(end),
        billed_cost: money,
        effective_cost: Some(money),
        list_cost: Some(money),
        billing_currency: "USD".into(),
        charge_category: Some(category.into()),
        provider_name: Some(provider.into()),
        service_name: Some(service_name.into()),
        resource_id: Some(resource),
        resource_name: None,
        sub_account_name: Some("shared-services".into()),
        tags,
        source_currency: None,
        exchange_rate: None,
    }
}

/// What no single service owns, as real bills have it: a monthly support
/// plan tagged `shared`, an untagged NAT gateway, a quarterly credit, and
/// OpenCost rows for the services that run in Kubernetes namespaces.
pub(super) fn org_costs(org: &Org, rng: &mut ChaCha8Rng, out: &mut Output) -> Result<()> {
    let scale = org.services.len() as f64 / 40.0;
    for (i, day) in days(org.start_day, org.end_day).enumerate() {
        let start = day_start(day);
        if day.day() == 1 {
            out.push_row(org_row(
                format!("demo:cost:support:{start}"),
                start,
                start + DAY,
                (1500.0 * scale).max(100.0),
                "Usage",
                ("AWS", "AWS Support (Business)", "support".into()),
                Some(r#"{"shared":"true"}"#.into()),
            ))?;
            if day.month() % 3 == 1 {
                let service = &org.services[i % org.services.len()].0;
                out.push_row(org_row(
                    format!("demo:cost:credit:{start}"),
                    start,
                    start + DAY,
                    -250.0,
                    "Credit",
                    (
                        "AWS",
                        "Amazon Elastic Compute Cloud",
                        format!("credit-{}", day.month()),
                    ),
                    Some(format!(r#"{{"service":"{service}"}}"#)),
                ))?;
            }
        }
        // Nobody tagged the NAT gateway.
        out.push_row(org_row(
            format!("demo:cost:nat:{start}"),
            start,
            start + DAY,
            lognormal(rng, 12.0 * scale.max(0.25), 0.2),
            "Usage",
            (
                "AWS",
                "Amazon Virtual Private Cloud",
                "arn:aws:ec2:eu-west-1:123456789012:natgateway/nat-0a1b2c3d".into(),
            ),
            None,
        ))?;
        for (s, (name, _)) in org.services.iter().enumerate() {
            if !kubernetes_namespace(s) {
                continue;
            }
            out.push_row(org_row(
                format!("demo:cost:opencost:{name}:{start}"),
                start,
                start + DAY,
                lognormal(rng, 6.0, 0.3),
                "Usage",
                ("OpenCost", "Kubernetes", format!("namespace/{name}")),
                Some(format!(r#"{{"namespace":"{name}"}}"#)),
            ))?;
        }
    }
    Ok(())
}

/// Every fifth service also runs in a Kubernetes namespace of its name.
pub(super) fn kubernetes_namespace(service: usize) -> bool {
    service % 5 == 2
}
