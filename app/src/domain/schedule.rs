//! When a step is delivered: a subscriber's preferences (timezone, preferred time, days, quiet
//! hours, pause) applied to the moment the sequence asks for.
//!
//! Local times are turned into instants with the IANA timezone database, so "9:00 every weekday"
//! stays 9:00 across daylight-saving changes. A local time that does not exist (the hour skipped
//! in spring) is delivered at the first moment after the gap; one that exists twice (autumn) at
//! its first occurrence.

use super::sequence::Due;
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A subscriber's delivery preferences for one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// IANA name, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Replaces the time of day of time-of-day steps.
    pub preferred_time: Option<NaiveTime>,
    /// Weekdays deliveries may happen on (0 = Monday); empty: every day.
    pub days: Vec<u8>,
    /// Nothing is delivered from the first time to the second (may wrap midnight).
    pub quiet: Option<(NaiveTime, NaiveTime)>,
    pub paused_until: Option<DateTime<Utc>>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self { timezone: "UTC".into(), preferred_time: None, days: vec![], quiet: None, paused_until: None }
    }
}

/// A timezone name Cairn understands.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| format!("“{name}” is not a timezone Cairn knows (use a name like Europe/Berlin)."))
}

impl Preferences {
    fn tz(&self) -> Tz {
        parse_timezone(&self.timezone).unwrap_or(Tz::UTC)
    }

    fn day_allowed(&self, weekday: u8) -> bool {
        self.days.is_empty() || self.days.contains(&weekday)
    }

    fn in_quiet_hours(&self, time: NaiveTime) -> Option<NaiveTime> {
        let (start, end) = self.quiet?;
        let inside = if start <= end { time >= start && time < end } else { time >= start || time < end };
        inside.then_some(end)
    }

    /// Days in a row, in the subscriber's timezone, on which they answered: counted back from
    /// today, or from yesterday while today has no answer yet.
    pub fn streak(&self, answered: impl IntoIterator<Item = DateTime<Utc>>, now: DateTime<Utc>) -> u32 {
        let tz = self.tz();
        let days: std::collections::BTreeSet<NaiveDate> =
            answered.into_iter().map(|at| at.with_timezone(&tz).date_naive()).collect();
        let today = now.with_timezone(&tz).date_naive();
        let mut day = if days.contains(&today) { today } else { today.pred_opt().unwrap_or(today) };
        let mut streak = 0;
        while days.contains(&day) {
            streak += 1;
            match day.pred_opt() {
                Some(before) => day = before,
                None => break,
            }
        }
        streak
    }

    /// The moment a step due as `due` is delivered; `None` for an event (it waits).
    pub fn resolve(&self, due: &Due) -> Option<DateTime<Utc>> {
        let at = match due {
            Due::At(at) => *at,
            Due::TimeOfDay { time, days, after } => self.next_time_of_day(*time, days, *after),
            Due::Event(_) => return None,
        };
        Some(self.deliverable(at))
    }

    /// The first moment after `after` at the time of day (or the preferred time) on one of the days.
    fn next_time_of_day(&self, time: NaiveTime, days: &[u8], after: DateTime<Utc>) -> DateTime<Utc> {
        let tz = self.tz();
        let time = self.preferred_time.unwrap_or(time);
        let wanted: Vec<u8> = {
            let both: Vec<u8> = days.iter().copied().filter(|d| self.day_allowed(*d)).collect();
            if both.is_empty() { days.to_vec() } else { both }
        };
        let start = after.with_timezone(&tz).date_naive();
        for offset in 0..15 {
            let date = start + Duration::days(offset);
            let weekday = date.weekday().num_days_from_monday() as u8;
            if !wanted.is_empty() && !wanted.contains(&weekday) {
                continue;
            }
            let at = local(&tz, date.and_time(time));
            if at > after {
                return at;
            }
        }
        after
    }

    /// `at` moved past the pause, quiet hours and days off.
    pub fn deliverable(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let tz = self.tz();
        let mut at = self.paused_until.map_or(at, |until| at.max(until));
        for _ in 0..16 {
            let here = at.with_timezone(&tz).naive_local();
            let weekday = here.weekday().num_days_from_monday() as u8;
            if !self.day_allowed(weekday) {
                let next_day: NaiveDate = here.date() + Duration::days(1);
                at = local(&tz, next_day.and_time(NaiveTime::MIN));
                continue;
            }
            if let Some(end) = self.in_quiet_hours(here.time()) {
                let date = if end > here.time() { here.date() } else { here.date() + Duration::days(1) };
                at = local(&tz, date.and_time(end));
                continue;
            }
            break;
        }
        at
    }
}

/// A local date and time as an instant: a skipped time moves past the gap, a doubled one takes
/// its first occurrence.
/// An instant as a person in `timezone` reads it: `2 January 2027, 09:00 CET` (UTC for an
/// unknown zone).
pub fn format_local(at: DateTime<Utc>, timezone: &str) -> String {
    let tz: Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    at.with_timezone(&tz).format("%-d %B %Y, %H:%M %Z").to_string()
}

/// A date and time as a `datetime-local` input sends it (`2027-01-02T09:30`), read in
/// `timezone` (UTC for an unknown zone).
pub fn parse_local_datetime(raw: &str, timezone: &str) -> Result<DateTime<Utc>, super::Invalid> {
    let naive = NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| super::Invalid("Choose a date and time, e.g. 2027-01-02 09:30.".into()))?;
    let tz: Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    Ok(local(&tz, naive))
}

fn local(tz: &Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = naive;
    for _ in 0..4 {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(at) => return at.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => probe += Duration::minutes(30),
        }
    }
    Utc.from_utc_datetime(&naive)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn nine() -> NaiveTime {
        NaiveTime::from_hms_opt(9, 0, 0).unwrap()
    }

    #[test]
    fn a_local_date_and_time_is_read_in_the_persons_timezone() {
        assert_eq!(parse_local_datetime("2027-01-02T09:30", "Europe/Berlin").unwrap(), utc("2027-01-02T08:30:00Z"));
        assert_eq!(parse_local_datetime("2027-07-02T09:30:00", "Europe/Berlin").unwrap(), utc("2027-07-02T07:30:00Z"));
        assert_eq!(parse_local_datetime("2027-01-02T09:30", "Nowhere/Else").unwrap(), utc("2027-01-02T09:30:00Z"));
        // 02:30 on 28 March 2027 does not exist in Berlin: it moves past the gap.
        assert_eq!(parse_local_datetime("2027-03-28T02:30", "Europe/Berlin").unwrap(), utc("2027-03-28T01:00:00Z"));
        assert!(parse_local_datetime("tomorrow", "UTC").is_err());
    }

    #[test]
    fn a_streak_counts_answered_days_in_the_subscribers_timezone() {
        let prefs = berlin();
        // 23:30 UTC on the 1st is already the 2nd in Berlin.
        let answered = ["2026-03-01T23:30:00Z", "2026-03-03T08:00:00Z", "2026-03-03T20:00:00Z", "2026-03-04T07:00:00Z"];
        let answered: Vec<_> = answered.iter().map(|s| utc(s)).collect();
        assert_eq!(prefs.streak(answered.clone(), utc("2026-03-04T12:00:00Z")), 3, "2nd, 3rd, 4th");
        assert_eq!(prefs.streak(answered.clone(), utc("2026-03-05T12:00:00Z")), 3, "today is still open");
        assert_eq!(prefs.streak(answered.clone(), utc("2026-03-06T12:00:00Z")), 0, "a day was missed");
        assert_eq!(Preferences::default().streak(answered, utc("2026-03-04T12:00:00Z")), 2, "in UTC the 2nd is empty");
        assert_eq!(prefs.streak(Vec::new(), utc("2026-03-04T12:00:00Z")), 0);
    }

    fn berlin() -> Preferences {
        Preferences { timezone: "Europe/Berlin".into(), ..Preferences::default() }
    }

    #[test]
    fn nine_in_the_morning_stays_nine_across_daylight_saving() {
        let every_day = vec![0, 1, 2, 3, 4, 5, 6];
        // Berlin moves to summer time on 2026-03-29: 09:00 is 08:00 UTC before, 07:00 UTC after.
        let before = berlin().resolve(&Due::TimeOfDay {
            time: nine(),
            days: every_day.clone(),
            after: utc("2026-03-28T08:30:00Z"),
        });
        assert_eq!(before, Some(utc("2026-03-29T07:00:00Z")));
        let winter = berlin().resolve(&Due::TimeOfDay {
            time: nine(),
            days: every_day.clone(),
            after: utc("2026-03-27T12:00:00Z"),
        });
        assert_eq!(winter, Some(utc("2026-03-28T08:00:00Z")));
        // And back on 2026-10-25.
        let autumn =
            berlin().resolve(&Due::TimeOfDay { time: nine(), days: every_day, after: utc("2026-10-24T12:00:00Z") });
        assert_eq!(autumn, Some(utc("2026-10-25T08:00:00Z")));
    }

    #[test]
    fn a_skipped_local_time_is_delivered_after_the_gap_and_a_doubled_one_once() {
        let half_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        let spring =
            berlin().resolve(&Due::TimeOfDay { time: half_two, days: vec![6], after: utc("2026-03-28T12:00:00Z") });
        // 02:30 does not exist on 2026-03-29 in Berlin; 03:00 CEST is 01:00 UTC.
        assert_eq!(spring, Some(utc("2026-03-29T01:00:00Z")));
        let autumn =
            berlin().resolve(&Due::TimeOfDay { time: half_two, days: vec![6], after: utc("2026-10-24T12:00:00Z") });
        // 02:30 happens twice on 2026-10-25: the first is 00:30 UTC (CEST).
        assert_eq!(autumn, Some(utc("2026-10-25T00:30:00Z")));
    }

    #[test]
    fn weekdays_preferred_time_quiet_hours_and_pause() {
        let prefs = Preferences {
            timezone: "America/New_York".into(),
            preferred_time: Some(NaiveTime::from_hms_opt(7, 30, 0).unwrap()),
            days: vec![0, 1, 2, 3, 4],
            quiet: Some((NaiveTime::from_hms_opt(21, 0, 0).unwrap(), NaiveTime::from_hms_opt(8, 0, 0).unwrap())),
            paused_until: None,
        };
        // Friday 2026-06-05 noon local → the next weekday at 07:30 is Monday; 07:30 is quiet until 08:00.
        let due = Due::TimeOfDay { time: nine(), days: vec![0, 2, 4, 5], after: utc("2026-06-05T16:00:00Z") };
        assert_eq!(prefs.resolve(&due), Some(utc("2026-06-08T12:00:00Z")));
        // A message due at 23:00 on Tuesday waits for 08:00 Wednesday.
        assert_eq!(prefs.resolve(&Due::At(utc("2026-06-10T03:00:00Z"))), Some(utc("2026-06-10T12:00:00Z")));
        // Saturday: moved to Monday, out of the quiet hours.
        assert_eq!(prefs.resolve(&Due::At(utc("2026-06-06T15:00:00Z"))), Some(utc("2026-06-08T12:00:00Z")));
        // Paused until Wednesday noon.
        let paused = Preferences { paused_until: Some(utc("2026-06-10T16:00:00Z")), ..prefs };
        assert_eq!(paused.resolve(&Due::At(utc("2026-06-08T14:00:00Z"))), Some(utc("2026-06-10T16:00:00Z")));
        assert_eq!(paused.resolve(&Due::Event("x".into())), None);
    }

    #[test]
    fn unknown_timezones_are_refused_by_name() {
        assert!(parse_timezone("Europe/Berlin").is_ok());
        assert_eq!(
            parse_timezone("Mars/Olympus").unwrap_err(),
            "“Mars/Olympus” is not a timezone Cairn knows (use a name like Europe/Berlin)."
        );
    }
}
