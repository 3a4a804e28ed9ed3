//! The quarterly DevEx survey waves.

use super::*;

/// Two quarterly survey waves, the latest in the last full quarter of the
/// history. Answers lean on the team's profile; adopting teams improve.
pub(super) fn survey_waves(org: &Org, rng: &mut ChaCha8Rng, out: &mut Output) -> Result<()> {
    let quarter_start =
        |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1);
    let Some(last) = org
        .end_day
        .checked_sub_days(chrono::Days::new(60))
        .and_then(quarter_start)
    else {
        return Ok(());
    };
    let Some(previous) = last.checked_sub_months(chrono::Months::new(3)) else {
        return Ok(());
    };
    for (wave, opens) in [previous, last].into_iter().enumerate() {
        let opens = opens + Duration::days(30);
        if opens < org.start_day {
            continue;
        }
        let survey_id = format!("devex-{}-q{}", opens.year(), opens.month0() / 3 + 1);
        for team in &org.teams {
            let base = match team.profile.level {
                "elite" => 4.1,
                "high" => 3.7,
                "medium" => 3.2,
                _ => 2.7,
            } + if team.adopting && wave == 1 {
                0.35
            } else {
                0.0
            };
            for &member in &team.members {
                if !org.joined(member, day_start(opens)) || rng.gen::<f64>() >= 0.72 {
                    continue;
                }
                let respondent = format!(
                    "r_{}",
                    &hex::encode(Sha256::digest(
                        format!("survey-salt/{}", org.developers[member]).as_bytes()
                    ))[..16]
                );
                let response_id = format!("{survey_id}-{}", &respondent[2..10]);
                let submitted = local_time(
                    team.zone,
                    opens + Duration::days(rng.gen_range(0..14)),
                    working_hour(rng),
                );
                if submitted >= org.end {
                    continue;
                }
                let mut answer = |question: &str, numeric: Option<f64>, text: Option<&str>| {
                    out.push(
                        &schema::SURVEY_RESPONSES,
                        vec![
                            Value::text(format!("demo:survey:{response_id}:{question}")),
                            Value::text(&survey_id),
                            Value::text(&response_id),
                            Value::text(&respondent),
                            Value::text(&team.name),
                            Value::Timestamp(submitted),
                            Value::text(question),
                            numeric.map_or(Value::Null, Value::Float),
                            Value::opt_text(text),
                        ],
                    )
                };
                for question in SURVEY_LIKERT_QUESTIONS {
                    let value = (base + 0.9 * normal(rng)).round().clamp(1.0, 5.0);
                    answer(question, Some(value), None)?;
                }
                let enps = ((base - 1.0) * 2.5 + 1.5 * normal(rng))
                    .round()
                    .clamp(0.0, 10.0);
                answer("enps", Some(enps), None)?;
                if rng.gen::<f64>() < 0.25 {
                    let comment = [
                        "CI is too slow on Fridays",
                        "Docs for the deploy tool are out of date",
                        "Too many meetings break my focus",
                        "On-call pages at night are wearing me down",
                        "The new templates saved me a day",
                    ][rng.gen_range(0..5)];
                    answer("comments", None, Some(comment))?;
                }
            }
        }
    }
    Ok(())
}
