//! Monthly cloud cost lines of each service.

use super::*;

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
            let money = |v: f64| Value::Money((v * 1e10).round() as i128);
            out.push(
                &schema::COSTS,
                vec![
                    Value::text(format!("demo:cost:{name}:{kind}:{start}")),
                    Value::Timestamp(start),
                    Value::Timestamp(start + DAY),
                    money(billed),
                    money(effective),
                    Value::text("USD"),
                    Value::text("AWS"),
                    Value::text(*service_name),
                    Value::text(format!("arn:aws:{kind}:eu-west-1:123456789012:{name}")),
                    Value::text(format!("{{\"service\":\"{name}\",\"team\":\"{team}\"}}")),
                    Value::text(name),
                    Value::text(team),
                ],
            )?;
        }
    }
    Ok(())
}
