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
