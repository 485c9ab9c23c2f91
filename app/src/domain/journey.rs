//! Journeys (the Wrap It Up document): sections of dynamic forms a client fills in, saved as they
//! go and submitted section by section, with an optional score.
//!
//! A journey's sections and their fields are one document (`Vec<Section>`), edited by its creator.
//! A client's answers to one section are a map from field id to the raw text of the answer; this
//! module checks them against the fields and scores them.

use super::Invalid;
use super::billing::Interval;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The fifteen field types of the dynamic forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    ShortText,
    LongText,
    Number,
    Email,
    Url,
    Phone,
    Date,
    Time,
    YesNo,
    Checkbox,
    SingleChoice,
    MultipleChoice,
    Dropdown,
    Scale,
    Rating,
}

impl FieldKind {
    pub const ALL: [FieldKind; 15] = [
        FieldKind::ShortText,
        FieldKind::LongText,
        FieldKind::Number,
        FieldKind::Email,
        FieldKind::Url,
        FieldKind::Phone,
        FieldKind::Date,
        FieldKind::Time,
        FieldKind::YesNo,
        FieldKind::Checkbox,
        FieldKind::SingleChoice,
        FieldKind::MultipleChoice,
        FieldKind::Dropdown,
        FieldKind::Scale,
        FieldKind::Rating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::ShortText => "short_text",
            FieldKind::LongText => "long_text",
            FieldKind::Number => "number",
            FieldKind::Email => "email",
            FieldKind::Url => "url",
            FieldKind::Phone => "phone",
            FieldKind::Date => "date",
            FieldKind::Time => "time",
            FieldKind::YesNo => "yes_no",
            FieldKind::Checkbox => "checkbox",
            FieldKind::SingleChoice => "single_choice",
            FieldKind::MultipleChoice => "multiple_choice",
            FieldKind::Dropdown => "dropdown",
            FieldKind::Scale => "scale",
            FieldKind::Rating => "rating",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FieldKind::ShortText => "Short text",
            FieldKind::LongText => "Long text",
            FieldKind::Number => "Number",
            FieldKind::Email => "Email address",
            FieldKind::Url => "Web address",
            FieldKind::Phone => "Phone number",
            FieldKind::Date => "Date",
            FieldKind::Time => "Time of day",
            FieldKind::YesNo => "Yes / no",
            FieldKind::Checkbox => "Checkbox",
            FieldKind::SingleChoice => "Single choice",
            FieldKind::MultipleChoice => "Multiple choice",
            FieldKind::Dropdown => "Dropdown",
            FieldKind::Scale => "Scale 1-10",
            FieldKind::Rating => "Rating 1-5",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw.trim())
            .ok_or_else(|| Invalid(format!("Choose one of the field types (not {raw:?}).")))
    }

    /// Whether the field offers a list of options.
    pub fn has_options(self) -> bool {
        matches!(self, FieldKind::SingleChoice | FieldKind::MultipleChoice | FieldKind::Dropdown)
    }

    /// Whether answers to the field can count towards the section's score.
    pub fn scorable(self) -> bool {
        self.has_options()
            || matches!(self, FieldKind::YesNo | FieldKind::Checkbox | FieldKind::Scale | FieldKind::Rating)
    }

    /// The range of a numeric scale.
    pub fn range(self) -> Option<(i64, i64)> {
        match self {
            FieldKind::Scale => Some((1, 10)),
            FieldKind::Rating => Some((1, 5)),
            _ => None,
        }
    }
}

/// One option of a choice field, with the points it scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub label: String,
    #[serde(default)]
    pub points: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Stable within its section: answers are stored under it.
    pub id: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: String,
    #[serde(default)]
    pub options: Vec<Choice>,
    /// Counts towards the section's score.
    #[serde(default)]
    pub scored: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub fields: Vec<Field>,
}

/// The most fields a section holds and sections a journey holds.
pub const MAX_FIELDS: usize = 50;
pub const MAX_SECTIONS: usize = 30;
/// The longest answer kept (long text); other kinds are far shorter.
pub const MAX_ANSWER: usize = 10_000;

/// A journey's title: 1-120 characters.
pub fn parse_title(raw: &str) -> Result<String, Invalid> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(Invalid("Give it a title, e.g. “Planning our wedding”.".into()));
    }
    if title.chars().count() > 120 || title.contains('\0') {
        return Err(Invalid("Keep the title to 120 characters.".into()));
    }
    Ok(title.to_owned())
}

/// A description: at most 2,000 characters.
pub fn parse_description(raw: &str) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.chars().count() > 2_000 || text.contains('\0') {
        return Err(Invalid("Keep the description to 2,000 characters.".into()));
    }
    Ok(text.to_owned())
}

/// A field's label: 1-200 characters.
pub fn parse_label(raw: &str) -> Result<String, Invalid> {
    let label = raw.trim();
    if label.is_empty() {
        return Err(Invalid("Write the question the client answers, e.g. “Your budget”.".into()));
    }
    if label.chars().count() > 200 || label.contains('\0') {
        return Err(Invalid("Keep the question to 200 characters.".into()));
    }
    Ok(label.to_owned())
}

/// Options, one per line, each optionally followed by `| points` (e.g. `Often | 3`).
pub fn parse_options(raw: &str) -> Result<Vec<Choice>, Invalid> {
    let mut options: Vec<Choice> = Vec::new();
    for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (label, points) = match line.rsplit_once('|') {
            Some((label, points)) => {
                let points = points.trim().parse::<i64>().ok().filter(|p| p.abs() <= 1_000).ok_or_else(|| {
                    Invalid(format!("“{line}”: write the points after | as a whole number, e.g. “Often | 3”."))
                })?;
                (label.trim(), points)
            }
            None => (line, 0),
        };
        if label.is_empty() || label.chars().count() > 100 {
            return Err(Invalid(format!("“{line}”: each option needs a label of up to 100 characters.")));
        }
        if options.iter().any(|o| o.label == label) {
            return Err(Invalid(format!("“{label}” is listed twice.")));
        }
        options.push(Choice { label: label.to_owned(), points });
    }
    if options.len() > 50 {
        return Err(Invalid("Offer at most 50 options.".into()));
    }
    Ok(options)
}

/// The options as they are written in the builder's text box.
pub fn options_text(options: &[Choice]) -> String {
    options
        .iter()
        .map(|o| if o.points == 0 { o.label.clone() } else { format!("{} | {}", o.label, o.points) })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Field {
    /// Checks one answer (its raw text; several choices are separated by newlines) and returns
    /// it normalized, or why it is not acceptable. An empty answer is `Ok("")` unless required.
    pub fn check(&self, raw: &str) -> Result<String, String> {
        let value = raw.trim();
        if value.is_empty() {
            return if self.required { Err("This question needs an answer.".into()) } else { Ok(String::new()) };
        }
        if value.chars().count() > MAX_ANSWER || value.contains('\0') {
            return Err(format!("Keep the answer to {MAX_ANSWER} characters."));
        }
        let short = |max: usize, what: &str| {
            if value.chars().count() > max {
                Err(format!("Keep {what} to {max} characters."))
            } else {
                Ok(value.to_owned())
            }
        };
        match self.kind {
            FieldKind::ShortText => short(300, "the answer"),
            FieldKind::LongText => Ok(value.to_owned()),
            FieldKind::Number => value
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|_| value.to_owned())
                .ok_or_else(|| "Write a number, e.g. 42 or 3.5.".into()),
            FieldKind::Email => super::Email::parse(value).map(|e| e.as_str().to_owned()).map_err(|e| e.0),
            FieldKind::Url => {
                let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
                match rest {
                    Some(rest) if !rest.is_empty() && !value.chars().any(char::is_whitespace) => {
                        short(2_000, "the address")
                    }
                    _ => Err("Write a web address starting with https://, e.g. https://example.com.".into()),
                }
            }
            FieldKind::Phone => {
                let digits = value.chars().filter(char::is_ascii_digit).count();
                let allowed = value.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
                if allowed && (5..=20).contains(&digits) {
                    Ok(value.to_owned())
                } else {
                    Err("Write a phone number, e.g. +44 20 7946 0958.".into())
                }
            }
            FieldKind::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|_| "Write a date as YYYY-MM-DD, e.g. 2027-06-12.".into()),
            FieldKind::Time => chrono::NaiveTime::parse_from_str(value, "%H:%M")
                .map(|t| t.format("%H:%M").to_string())
                .map_err(|_| "Write a time as HH:MM, e.g. 18:30.".into()),
            FieldKind::YesNo => match value.to_ascii_lowercase().as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => Err("Answer yes or no.".into()),
            },
            FieldKind::Checkbox => match value {
                "checked" | "true" | "on" => Ok("checked".into()),
                _ => Err("Tick the box or leave it empty.".into()),
            },
            FieldKind::SingleChoice | FieldKind::Dropdown => {
                if self.options.iter().any(|o| o.label == value) {
                    Ok(value.to_owned())
                } else {
                    Err("Choose one of the options.".into())
                }
            }
            FieldKind::MultipleChoice => {
                let chosen: Vec<&str> = value.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                if let Some(unknown) = chosen.iter().find(|c| !self.options.iter().any(|o| o.label == **c)) {
                    return Err(format!("“{unknown}” is not one of the options."));
                }
                // In the options' order, each once.
                Ok(self
                    .options
                    .iter()
                    .filter(|o| chosen.contains(&o.label.as_str()))
                    .map(|o| o.label.clone())
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
            FieldKind::Scale | FieldKind::Rating => {
                let (low, high) = self.kind.range().unwrap_or((1, 10));
                value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (low..=high).contains(n))
                    .map(|n| n.to_string())
                    .ok_or_else(|| format!("Choose a whole number from {low} to {high}."))
            }
        }
    }

    /// The points a (checked) answer scores, and the most the field can score.
    pub fn points(&self, answer: &str) -> (i64, i64) {
        if !self.scored || !self.kind.scorable() {
            return (0, 0);
        }
        let chosen = |label: &str| answer.lines().any(|l| l == label);
        match self.kind {
            FieldKind::YesNo => (i64::from(answer == "yes"), 1),
            FieldKind::Checkbox => (i64::from(answer == "checked"), 1),
            FieldKind::Scale | FieldKind::Rating => {
                (answer.parse().unwrap_or(0), self.kind.range().map_or(0, |(_, high)| high))
            }
            FieldKind::MultipleChoice => (
                self.options.iter().filter(|o| chosen(&o.label)).map(|o| o.points).sum(),
                self.options.iter().map(|o| o.points.max(0)).sum(),
            ),
            _ => (
                self.options.iter().filter(|o| o.label == answer).map(|o| o.points).sum(),
                self.options.iter().map(|o| o.points).max().unwrap_or(0).max(0),
            ),
        }
    }
}

/// A field's problem with the answer given, for the client to see next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub label: String,
    pub message: String,
}

/// A section's score: points earned of the most possible (both 0 when nothing is scored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub points: i64,
    pub max: i64,
}

impl Section {
    /// Checks every answer of a submission: the normalized answers (unknown fields dropped) and
    /// their score, or every field's problem.
    pub fn check(
        &self,
        answers: &BTreeMap<String, String>,
    ) -> Result<(BTreeMap<String, String>, Score), Vec<FieldProblem>> {
        let mut clean = BTreeMap::new();
        let mut problems = Vec::new();
        let mut score = Score::default();
        for field in &self.fields {
            let raw = answers.get(&field.id).map(String::as_str).unwrap_or("");
            match field.check(raw) {
                Ok(value) => {
                    let (points, max) = if value.is_empty() { (0, field.points("").1) } else { field.points(&value) };
                    score.points += points;
                    score.max += max;
                    if !value.is_empty() {
                        clean.insert(field.id.clone(), value);
                    }
                }
                Err(message) => {
                    problems.push(FieldProblem { field: field.id.clone(), label: field.label.clone(), message })
                }
            }
        }
        if problems.is_empty() { Ok((clean, score)) } else { Err(problems) }
    }

    /// Keeps a draft's answers as typed (only the section's fields, each within the size limit).
    pub fn keep_draft(&self, answers: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .filter_map(|f| {
                let value = answers.get(&f.id)?;
                let value: String = value.chars().filter(|c| *c != '\0').take(MAX_ANSWER).collect();
                (!value.trim().is_empty()).then(|| (f.id.clone(), value))
            })
            .collect()
    }
}

/// A short id for a new section or field: `prefix-N`, the first N not used yet.
pub fn next_id<'a>(prefix: &str, taken: impl Iterator<Item = &'a str>) -> String {
    let taken: Vec<&str> = taken.collect();
    (1..).map(|n| format!("{prefix}{n}")).find(|id| !taken.contains(&id.as_str())).unwrap_or_default()
}

/// The tiers a journey is sold in (Wrap It Up's Revenue & Pricing System), each with a monthly
/// and a yearly price set by its creator. Any tier opens the journey's sections; the tiers say
/// how much human help comes with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Essentials,
    Guided,
    Premium,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Essentials, Tier::Guided, Tier::Premium];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Essentials => "essentials",
            Tier::Guided => "guided",
            Tier::Premium => "premium",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::Essentials => "Essentials",
            Tier::Guided => "Guided",
            Tier::Premium => "Premium",
        }
    }

    /// What the tier brings, as its buy button's neighbour says.
    pub fn promise(self) -> &'static str {
        match self {
            Tier::Essentials => "Every section, at your own pace.",
            Tier::Guided => "Every section, with a mentor's review of what you submit.",
            Tier::Premium => "Every section, mentor reviews and concierge sessions.",
        }
    }

    /// Whether the tier brings mentor reviews of submitted sections (Guided and Premium).
    pub fn reviews(self) -> bool {
        matches!(self, Tier::Guided | Tier::Premium)
    }

    /// Whether the tier brings concierge sessions (Premium).
    pub fn sessions(self) -> bool {
        self == Tier::Premium
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw.trim())
            .ok_or_else(|| Invalid(format!("Choose Essentials, Guided or Premium (not {raw:?}).")))
    }
}

/// The platform's share of a journey sale unless a platform admin sets another: 15%.
pub const DEFAULT_FEE_BPS: u32 = 1_500;

/// The product key of a journey tier: `journey:<id>:<tier>:<month|year>`.
pub fn product(journey: uuid::Uuid, tier: Tier, interval: Interval) -> String {
    format!("journey:{journey}:{}:{}", tier.as_str(), interval.as_str())
}

/// The journey, tier and interval a product key names.
pub fn parse_product(key: &str) -> Option<(uuid::Uuid, Tier, Interval)> {
    let mut parts = key.strip_prefix("journey:")?.split(':');
    let id = parts.next()?.parse().ok()?;
    let tier = Tier::parse(parts.next()?).ok()?;
    let interval = match parts.next()? {
        "month" => Interval::Month,
        "year" => Interval::Year,
        _ => return None,
    };
    parts.next().is_none().then_some((id, tier, interval))
}

/// What every product key of a journey starts with.
pub fn products_prefix(journey: uuid::Uuid) -> String {
    format!("journey:{journey}:")
}

/// What the product keys of one tier of a journey start with.
pub fn tier_prefix(journey: uuid::Uuid, tier: Tier) -> String {
    format!("journey:{journey}:{}:", tier.as_str())
}

/// A client's rating of a completed review or session: 1 to 5 stars.
pub fn parse_rating(stars: i64) -> Result<i64, Invalid> {
    if (1..=5).contains(&stars) { Ok(stars) } else { Err(Invalid("Choose from 1 to 5 stars.".into())) }
}

/// A helper's ratings: their average in tenths of a star (45 is 4.5), and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub tenths: i64,
    pub count: i64,
}

impl Rating {
    /// The average of `count` ratings adding up to `sum`, rounded to a tenth (half up); `None`
    /// without ratings.
    pub fn of(sum: i64, count: i64) -> Option<Rating> {
        (count > 0).then(|| Rating { tenths: (sum * 20 + count) / (2 * count), count })
    }

    /// "4.5 of 5 (2 ratings)".
    pub fn label(&self) -> String {
        let plural = if self.count == 1 { "" } else { "s" };
        format!("{}.{} of 5 ({} rating{plural})", self.tenths / 10, self.tenths % 10, self.count)
    }
}

/// How many sessions of one journey a client may have asked for or confirmed at a time.
pub const MAX_OPEN_SESSIONS: i64 = 3;

/// The most one mentor review or concierge session may pay: $1,000.
pub const MAX_HELPER_RATE: i64 = 100_000;

/// A mentor's feedback on a section: 1-5,000 characters.
pub fn parse_feedback(raw: &str) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Invalid("Write your feedback: what works, and what to do next.".into()));
    }
    if text.chars().count() > 5_000 || text.contains('\0') {
        return Err(Invalid("Keep the feedback to 5,000 characters.".into()));
    }
    Ok(text.to_owned())
}

/// What a client wants a concierge's help with: 1-2,000 characters.
pub fn parse_topic(raw: &str) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Invalid("Say what you would like help with, e.g. “choosing a venue”.".into()));
    }
    if text.chars().count() > 2_000 || text.contains('\0') {
        return Err(Invalid("Keep it to 2,000 characters.".into()));
    }
    Ok(text.to_owned())
}

/// A concierge's notes after a session: 1-5,000 characters.
pub fn parse_notes(raw: &str) -> Result<String, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Invalid("Write your notes: what you covered, and what comes next.".into()));
    }
    if text.chars().count() > 5_000 || text.contains('\0') {
        return Err(Invalid("Keep the notes to 5,000 characters.".into()));
    }
    Ok(text.to_owned())
}

/// Every product key of a journey: each tier, monthly and yearly.
pub fn products(journey: uuid::Uuid) -> Vec<String> {
    Tier::ALL.into_iter().flat_map(|t| [Interval::Month, Interval::Year].map(|i| product(journey, t, i))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rating_is_one_to_five_stars_and_averages_to_the_nearest_tenth() {
        assert!(parse_rating(0).is_err() && parse_rating(6).is_err());
        assert_eq!(parse_rating(5), Ok(5));
        assert_eq!(Rating::of(0, 0), None);
        assert_eq!(Rating::of(9, 2), Some(Rating { tenths: 45, count: 2 }));
        assert_eq!(Rating::of(14, 3).map(|r| r.tenths), Some(47));
        assert_eq!(Rating::of(13, 3).map(|r| r.tenths), Some(43));
        assert_eq!(Rating::of(5, 1).map(|r| r.label()), Some("5.0 of 5 (1 rating)".to_owned()));
        assert_eq!(Rating::of(9, 2).map(|r| r.label()), Some("4.5 of 5 (2 ratings)".to_owned()));
    }

    #[test]
    fn a_tier_prefix_matches_that_tier_only() {
        let id = uuid::Uuid::now_v7();
        for key in products(id) {
            let (_, tier, _) = parse_product(&key).unwrap();
            for other in Tier::ALL {
                assert_eq!(key.starts_with(&tier_prefix(id, other)), tier == other, "{key} vs {other:?}");
            }
        }
        assert_eq!(Tier::ALL.map(Tier::reviews), [false, true, true]);
        assert_eq!(Tier::ALL.map(Tier::sessions), [false, false, true]);
    }

    #[test]
    fn a_tier_product_key_reads_back_and_nothing_else_does() {
        let id = uuid::Uuid::now_v7();
        for key in products(id) {
            let (got, tier, interval) = parse_product(&key).unwrap();
            assert_eq!(product(got, tier, interval), key);
        }
        assert_eq!(products(id).len(), 6);
        assert_eq!(parse_product(&format!("journey:{id}:guided:year")), Some((id, Tier::Guided, Interval::Year)));
        for bad in [
            format!("sequence:{id}"),
            format!("journey:{id}:gold:month"),
            format!("journey:{id}:guided:week"),
            format!("journey:{id}:guided:month:x"),
            "journey:nope:guided:month".to_owned(),
        ] {
            assert_eq!(parse_product(&bad), None, "{bad}");
        }
    }

    fn field(id: &str, kind: FieldKind, required: bool) -> Field {
        Field {
            id: id.into(),
            label: id.to_uppercase(),
            kind,
            required,
            help: String::new(),
            options: Vec::new(),
            scored: false,
        }
    }

    fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn every_kind_has_a_stable_name() {
        for kind in FieldKind::ALL {
            assert_eq!(FieldKind::parse(kind.as_str()), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert!(FieldKind::parse("essay").is_err());
    }

    #[test]
    fn answers_are_checked_by_kind() {
        let ok = |kind, raw: &str| field("f", kind, false).check(raw);
        assert_eq!(ok(FieldKind::Number, " 3.5 "), Ok("3.5".into()));
        assert!(ok(FieldKind::Number, "three").is_err());
        assert!(ok(FieldKind::Number, "NaN").is_err());
        assert_eq!(ok(FieldKind::Email, "Ana@Example.com"), Ok("ana@example.com".into()));
        assert!(ok(FieldKind::Email, "ana@").is_err());
        assert!(ok(FieldKind::Url, "https://example.com/x").is_ok());
        assert!(ok(FieldKind::Url, "example").is_err());
        assert!(ok(FieldKind::Phone, "+44 20 7946 0958").is_ok());
        assert!(ok(FieldKind::Phone, "call me").is_err());
        assert_eq!(ok(FieldKind::Date, "2027-06-12"), Ok("2027-06-12".into()));
        assert!(ok(FieldKind::Date, "12/06/2027").is_err());
        assert_eq!(ok(FieldKind::Time, "18:30"), Ok("18:30".into()));
        assert!(ok(FieldKind::Time, "25:00").is_err());
        assert_eq!(ok(FieldKind::YesNo, "Yes"), Ok("yes".into()));
        assert!(ok(FieldKind::YesNo, "maybe").is_err());
        assert_eq!(ok(FieldKind::Checkbox, "on"), Ok("checked".into()));
        assert_eq!(ok(FieldKind::Scale, "10"), Ok("10".into()));
        assert!(ok(FieldKind::Scale, "11").is_err());
        assert!(ok(FieldKind::Rating, "0").is_err());
        assert_eq!(ok(FieldKind::ShortText, ""), Ok(String::new()));
        assert!(field("f", FieldKind::ShortText, true).check("  ").is_err());
    }

    #[test]
    fn options_carry_points_and_choices_are_checked() {
        let options = parse_options("Never\nSometimes | 2\n\nOften | 5").unwrap();
        assert_eq!(options[1], Choice { label: "Sometimes".into(), points: 2 });
        assert_eq!(options_text(&options), "Never\nSometimes | 2\nOften | 5");
        assert!(parse_options("A\nA").is_err());
        assert!(parse_options("A | lots").is_err());
        let mut multi = field("m", FieldKind::MultipleChoice, true);
        multi.options = options.clone();
        multi.scored = true;
        assert_eq!(multi.check("Often\nNever"), Ok("Never\nOften".into()));
        assert!(multi.check("Always").is_err());
        assert_eq!(multi.points("Never\nOften"), (5, 7));
        let mut single = field("s", FieldKind::SingleChoice, false);
        single.options = options;
        single.scored = true;
        assert_eq!(single.points("Sometimes"), (2, 5));
        assert!(single.check("Rarely").is_err());
    }

    #[test]
    fn a_submission_names_every_problem_or_scores_the_section() {
        let mut scale = field("energy", FieldKind::Scale, true);
        scale.scored = true;
        let mut agree = field("agree", FieldKind::YesNo, false);
        agree.scored = true;
        let section = Section {
            id: "s1".into(),
            title: "Basics".into(),
            description: String::new(),
            fields: vec![
                field("name", FieldKind::ShortText, true),
                scale,
                agree,
                field("when", FieldKind::Date, false),
            ],
        };
        let problems = section.check(&answers(&[("energy", "12"), ("when", "soon")])).unwrap_err();
        let named: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(named, ["name", "energy", "when"]);
        let (clean, score) = section.check(&answers(&[("name", " Ana "), ("energy", "7"), ("stray", "x")])).unwrap();
        assert_eq!(clean, answers(&[("name", "Ana"), ("energy", "7")]));
        assert_eq!(score, Score { points: 7, max: 11 });
        assert_eq!(
            section.keep_draft(&answers(&[("name", "An"), ("stray", "x"), ("when", " ")])),
            answers(&[("name", "An")])
        );
    }

    #[test]
    fn new_ids_are_the_first_free_ones() {
        assert_eq!(next_id("f", ["f1", "f3"].into_iter()), "f2");
        assert_eq!(next_id("s", std::iter::empty()), "s1");
    }
}
