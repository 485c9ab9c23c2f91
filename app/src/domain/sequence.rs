//! Sequences: the steps a creator builds, their validation, and the engine that moves one
//! subscriber through them.
//!
//! The engine is pure: given the sequence's steps, a subscriber's [`Run`] and what happened (the
//! step's moment arrived, an answer, a decision, an event, a timeout), it changes the run and
//! returns [`Effect`]s — say this, schedule that, ask for a decision, finish. The server's
//! scheduler applies the effects in one transaction; the builder's simulator applies them in the
//! browser against a fake clock. Both therefore run the same rules.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub const MAX_STEPS: usize = 200;

/// What a sequence is, as the catalogue shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceMeta {
    pub title: String,
    pub description: String,
    pub category: String,
    pub tags: Vec<String>,
    pub difficulty: Difficulty,
    pub estimated_minutes: i32,
    pub visibility: Visibility,
    pub cover_url: Option<String>,
}

impl SequenceMeta {
    pub fn titled(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            description: String::new(),
            category: String::new(),
            tags: vec![],
            difficulty: Difficulty::Beginner,
            estimated_minutes: 0,
            visibility: Visibility::Private,
            cover_url: None,
        }
    }

    /// Every problem with the fields, by field name.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let title = self.title.trim();
        if title.is_empty() {
            out.push(("title", "Give the sequence a title.".into()));
        } else if title.chars().count() > 200 {
            out.push(("title", "At most 200 characters.".into()));
        }
        if self.description.chars().count() > 5000 {
            out.push(("description", "At most 5,000 characters.".into()));
        }
        if self.tags.len() > 20 || self.tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > 40) {
            out.push(("tags", "Up to 20 tags of at most 40 characters.".into()));
        }
        if !(0..=100_000).contains(&self.estimated_minutes) {
            out.push(("estimated_minutes", "Between 0 and 100,000 minutes.".into()));
        }
        if let Some(url) = &self.cover_url
            && !(url.starts_with("https://") || url.starts_with("/"))
        {
            out.push(("cover_url", "Use an https:// address.".into()));
        }
        out
    }
}

/// The categories of the product document; creators may add their own.
pub const CATEGORIES: [&str; 8] =
    ["Leadership", "Productivity", "Wellness", "Communication", "Career growth", "Habits", "Onboarding", "Creativity"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Beginner,
    Intermediate,
    Advanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Private,
    Team,
    Organization,
    Public,
    Premium,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($ty::$variant),)+ _ => None }
            }
        }
    };
}

text_enum!(Difficulty { Beginner = "beginner", Intermediate = "intermediate", Advanced = "advanced" });
text_enum!(Visibility { Private = "private", Team = "team", Organization = "organization", Public = "public", Premium = "premium" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Paused,
    Completed,
    Canceled,
}

text_enum!(SubscriptionStatus { Active = "active", Paused = "paused", Completed = "completed", Canceled = "canceled" });

/// Who wrote a message in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// The sequence's authored text (scripted).
    Step,
    /// The AI model.
    Ai,
    Subscriber,
    /// The creator or a coach, replying in person.
    Creator,
}

text_enum!(Sender { Step = "step", Ai = "ai", Subscriber = "subscriber", Creator = "creator" });

/// What a scheduler job does when due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// The step's moment: fire it.
    Fire,
    /// A reminder, deadline or timeout of the step.
    Timeout,
    /// The AI model's next turn in a conversation.
    AiTurn,
}

text_enum!(JobKind { Fire = "fire", Timeout = "timeout", AiTurn = "ai_turn" });
text_enum!(Decider { Subscriber = "subscriber", Creator = "creator", Coach = "coach" });

/// One step of a sequence. Its `id` is stable across versions, which is how running
/// subscriptions are moved to a new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// When the step fires, counted from the end of the previous one.
    #[serde(default)]
    pub trigger: Trigger,
    pub kind: StepKind,
    /// The step after this one. `None`: the next in the list (the last one ends the sequence).
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepKind {
    /// Says something. The text may use `{{variables}}`: `name`, `first_name`, and the answers of
    /// earlier questions by their variable name.
    Message { text: String },
    /// Asks and waits for the answer, stored under `variable`.
    Question {
        text: String,
        answer: AnswerKind,
        variable: String,
        /// No answer after this many hours: a reminder, once.
        #[serde(default)]
        remind_after_hours: Option<u32>,
    },
    /// A conversation with the AI model toward a goal; ends when the model says the goal is met
    /// or after `max_turns` replies. Without a model: the opening text, then the next step.
    Conversation {
        goal: String,
        persona: String,
        opening: String,
        max_turns: u32,
        /// The conversation's summary is stored under this variable.
        #[serde(default)]
        variable: Option<String>,
    },
    /// Waits for a while, until a moment, or for an event; an event wait has a timeout path.
    Wait {
        until: WaitUntil,
        /// Hours after which a wait for an event gives up.
        #[serde(default)]
        timeout_hours: Option<u32>,
        /// Said when the timeout passes (the "no reply" nudge).
        #[serde(default)]
        nudge: Option<String>,
        /// Where a timed-out wait goes; `None`: on as usual.
        #[serde(default)]
        timeout_next: Option<String>,
    },
    /// Goes to the first rule whose conditions hold, else `otherwise`.
    Branch { rules: Vec<BranchRule>, otherwise: Option<String> },
    /// A person decides before the subscriber goes on.
    Checkpoint {
        question: String,
        decider: Decider,
        /// Approve/reject when empty; otherwise each option is a path.
        #[serde(default)]
        options: Vec<PathOption>,
        /// Where a rejection goes (approve-style checkpoints).
        #[serde(default)]
        reject_next: Option<String>,
        deadline_hours: u32,
        /// On a missed deadline: this option's path (or approval), else escalation to the creator.
        #[serde(default)]
        default_option: Option<String>,
    },
    /// The end, with an outcome ("completed", "referred", …).
    End { outcome: String },
}

impl StepKind {
    pub fn label(&self) -> &'static str {
        match self {
            StepKind::Message { .. } => "Message",
            StepKind::Question { .. } => "Question",
            StepKind::Conversation { .. } => "AI conversation",
            StepKind::Wait { .. } => "Wait",
            StepKind::Branch { .. } => "Branch",
            StepKind::Checkpoint { .. } => "Checkpoint",
            StepKind::End { .. } => "End",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnswerKind {
    Text,
    Single {
        options: Vec<String>,
    },
    Multiple {
        options: Vec<String>,
    },
    /// 1 to 10.
    Scale,
    YesNo,
}

impl AnswerKind {
    /// The answer as stored, or why it is not one.
    pub fn check(&self, raw: &str) -> Result<String, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("Please answer before sending.".into());
        }
        match self {
            AnswerKind::Text => Ok(raw.to_owned()),
            AnswerKind::Single { options } => options
                .iter()
                .find(|o| o.eq_ignore_ascii_case(raw))
                .cloned()
                .ok_or_else(|| format!("Choose one of: {}.", options.join(", "))),
            AnswerKind::Multiple { options } => {
                let mut chosen = Vec::new();
                for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    match options.iter().find(|o| o.eq_ignore_ascii_case(part)) {
                        Some(o) if !chosen.contains(o) => chosen.push(o.clone()),
                        Some(_) => {}
                        None => return Err(format!("“{part}” is not one of: {}.", options.join(", "))),
                    }
                }
                Ok(chosen.join(", "))
            }
            AnswerKind::Scale => match raw.parse::<u8>() {
                Ok(n @ 1..=10) => Ok(n.to_string()),
                _ => Err("Answer with a number from 1 to 10.".into()),
            },
            AnswerKind::YesNo => match raw.to_ascii_lowercase().as_str() {
                "yes" | "y" => Ok("yes".into()),
                "no" | "n" => Ok("no".into()),
                _ => Err("Answer yes or no.".into()),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WaitUntil {
    Hours { hours: u32 },
    Moment { at: DateTime<Utc> },
    Event { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decider {
    Subscriber,
    Creator,
    Coach,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathOption {
    pub label: String,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchRule {
    /// Whether all conditions must hold, or any.
    pub all: bool,
    pub conditions: Vec<Condition>,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub variable: String,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Test {
    Equals { value: String },
    Contains { value: String },
    Between { min: f64, max: f64 },
}

impl Condition {
    fn holds(&self, answers: &BTreeMap<String, String>) -> bool {
        let Some(answer) = answers.get(&self.variable) else { return false };
        match &self.test {
            Test::Equals { value } => answer.trim().eq_ignore_ascii_case(value.trim()),
            Test::Contains { value } => answer.to_lowercase().contains(&value.to_lowercase()),
            Test::Between { min, max } => answer.trim().parse::<f64>().is_ok_and(|n| n >= *min && n <= *max),
        }
    }
}

/// When a step fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// As soon as the previous step is done (answered), at least `min_gap_minutes` later.
    #[default]
    Completion,
    #[serde(rename = "completion_gap")]
    CompletionGap { min_gap_minutes: u32 },
    /// `hours` after the previous step.
    After { hours: u32 },
    /// At a time of day on some weekdays, in the subscriber's timezone. `days`: 0 = Monday.
    TimeOfDay { time: NaiveTime, days: Vec<u8> },
    /// At a fixed moment.
    Moment { at: DateTime<Utc> },
    /// When the named event happens for the subscriber.
    Event { name: String },
    /// When the subscriber has not replied in any of their conversations in the organization for
    /// `days` days (counted from the previous step, or from their last reply if later).
    Inactive { days: u32 },
}

impl Trigger {
    pub fn describe(&self) -> String {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        match self {
            Trigger::Completion => "right after the previous step".into(),
            Trigger::CompletionGap { min_gap_minutes } => {
                format!("after the previous step, at least {min_gap_minutes} min later")
            }
            Trigger::After { hours } if hours % 24 == 0 && *hours > 0 => format!("{} day(s) later", hours / 24),
            Trigger::After { hours } => format!("{hours} hour(s) later"),
            Trigger::TimeOfDay { time, days } => {
                let days: Vec<&str> = days.iter().filter_map(|d| DAYS.get(*d as usize).copied()).collect();
                format!(
                    "at {} on {}",
                    time.format("%H:%M"),
                    if days.len() == 7 { "every day".into() } else { days.join(", ") }
                )
            }
            Trigger::Moment { at } => format!("at {}", at.format("%Y-%m-%d %H:%M UTC")),
            Trigger::Event { name } => format!("when “{name}” happens"),
            Trigger::Inactive { days } => format!("after {days} day(s) without a reply from them"),
        }
    }
}

/// Where a subscriber stands in a sequence. Stored with the subscription.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Run {
    /// The current step; `None` before the start and after the end.
    pub step: Option<String>,
    pub phase: Phase,
    /// Answers by variable name.
    pub answers: BTreeMap<String, String>,
    /// How often each step has been entered: the attempt part of a delivery's idempotency key.
    pub visits: BTreeMap<String, u32>,
    /// Replies in the current AI conversation.
    pub turns: u32,
    /// Steps done, for progress.
    pub completed: u32,
    /// Timeouts already passed at the current step (reminder, nudge): the next one escalates.
    #[serde(default)]
    pub timeouts: u32,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The step's moment is scheduled (or, for an event trigger, awaited).
    #[default]
    Scheduled,
    AwaitingAnswer,
    InConversation,
    Waiting,
    AwaitingDecision,
    Finished,
}

/// What happened to a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The current step's scheduled moment arrived.
    Fire,
    Answer(String),
    /// The AI model's reply in a conversation, and whether it says the goal is met.
    AiReply {
        text: String,
        goal_met: bool,
    },
    /// A checkpoint decision: an option label, "approve" or "reject".
    Decision(String),
    Event(String),
    /// A deadline or timeout of the current step passed.
    Timeout,
}

/// What the engine asks the world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A message to the subscriber from the step.
    Say {
        step: String,
        visit: u32,
        text: String,
        asks: Option<AnswerKind>,
    },
    /// Fire the current step at `due` (`Event` triggers: when the event comes instead).
    Schedule {
        step: String,
        visit: u32,
        due: Due,
    },
    /// A timeout for the current step at the moment.
    Deadline {
        step: String,
        visit: u32,
        at: DateTime<Utc>,
        /// 1 for a step's first timeout, 2 for the one after a reminder or nudge.
        round: u32,
    },
    /// Someone must be reminded: the decider of a checkpoint whose deadline nears.
    Remind {
        step: String,
        text: String,
    },
    /// Ask the AI model for the next turn.
    AiTurn {
        step: String,
        visit: u32,
    },
    /// A person must decide.
    Decide {
        step: String,
        visit: u32,
        decider: Decider,
        question: String,
        options: Vec<String>,
        deadline: DateTime<Utc>,
    },
    /// Nobody answered or decided in time: the creator must look (their inbox is told).
    Escalate {
        step: String,
        reason: String,
    },
    Finish {
        outcome: String,
    },
}

/// When a scheduled step should fire, before the subscriber's preferences shift it.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    At(DateTime<Utc>),
    /// At a time of day in the subscriber's timezone, from `after` on.
    TimeOfDay {
        time: NaiveTime,
        days: Vec<u8>,
        after: DateTime<Utc>,
    },
    Event(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("That does not fit the step the conversation is at.")]
    Unexpected,
    #[error("{0}")]
    BadAnswer(String),
    #[error("The sequence refers to a step that does not exist: {0}.")]
    MissingStep(String),
    #[error("The sequence went through more than {MAX_STEPS} steps without stopping.")]
    Runaway,
}

/// A sequence's steps, looked up by id.
pub struct Graph<'a> {
    steps: &'a [Step],
}

impl<'a> Graph<'a> {
    pub fn new(steps: &'a [Step]) -> Self {
        Self { steps }
    }

    pub fn step(&self, id: &str) -> Option<&'a Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// The step after `step` when it ends normally.
    fn following(&self, step: &'a Step) -> Option<&'a str> {
        match &step.next {
            Some(next) => Some(next.as_str()),
            None => self.index(&step.id).and_then(|i| self.steps.get(i + 1)).map(|s| s.id.as_str()),
        }
    }

    /// Every step `step` can lead to.
    pub fn exits(&self, step: &'a Step) -> Vec<&'a str> {
        let normal = || self.following(step).filter(|id| self.step(id).is_some()).into_iter().collect::<Vec<_>>();
        match &step.kind {
            StepKind::End { .. } => vec![],
            StepKind::Branch { rules, otherwise } => {
                let mut out: Vec<&str> =
                    rules.iter().filter_map(|r| self.step(&r.next)).map(|s| s.id.as_str()).collect();
                match otherwise {
                    Some(o) => out.extend(self.step(o).map(|s| s.id.as_str())),
                    None => out.extend(normal()),
                }
                out
            }
            StepKind::Checkpoint { options, reject_next, .. } => {
                if options.is_empty() {
                    let mut out = normal();
                    out.extend(reject_next.as_deref().and_then(|r| self.step(r)).map(|s| s.id.as_str()));
                    out
                } else {
                    options.iter().filter_map(|o| self.step(&o.next)).map(|s| s.id.as_str()).collect()
                }
            }
            StepKind::Wait { timeout_next, .. } => {
                let mut out = normal();
                out.extend(timeout_next.as_deref().and_then(|r| self.step(r)).map(|s| s.id.as_str()));
                out
            }
            _ => normal(),
        }
    }

    /// Starts a run: the first step is scheduled.
    pub fn start(&self, run: &mut Run, now: DateTime<Utc>) -> Result<Vec<Effect>, RunError> {
        let Some(first) = self.steps.first() else {
            run.phase = Phase::Finished;
            run.outcome = Some("completed".into());
            return Ok(vec![Effect::Finish { outcome: "completed".into() }]);
        };
        let mut effects = Vec::new();
        self.enter(run, &first.id, now, &mut effects)?;
        Ok(effects)
    }

    /// Applies `input` to `run` at `now`.
    pub fn advance(&self, run: &mut Run, input: Input, now: DateTime<Utc>) -> Result<Vec<Effect>, RunError> {
        let current = run.step.clone().ok_or(RunError::Unexpected)?;
        let step = self.step(&current).ok_or_else(|| RunError::MissingStep(current.clone()))?;
        let visit = run.visits.get(&current).copied().unwrap_or(1);
        let mut effects = Vec::new();
        match (run.phase, input, &step.kind) {
            (Phase::Scheduled, Input::Fire, _) => self.fire(run, step, visit, now, &mut effects)?,
            (Phase::Scheduled, Input::Event(name), _) if matches!(&step.trigger, Trigger::Event { name: n } if *n == name) => {
                self.fire(run, step, visit, now, &mut effects)?
            }
            (Phase::AwaitingAnswer, Input::Answer(raw), StepKind::Question { answer, variable, .. }) => {
                let value = answer.check(&raw).map_err(RunError::BadAnswer)?;
                run.answers.insert(variable.clone(), value);
                self.finish_step(run, self.following(step), now, &mut effects)?;
            }
            (Phase::AwaitingAnswer, Input::Timeout, StepKind::Question { text, remind_after_hours, .. }) => {
                run.timeouts += 1;
                if run.timeouts == 1 {
                    // The reminder: the question again, once; still no answer after as long again escalates.
                    effects.push(Effect::Say {
                        step: current.clone(),
                        visit,
                        text: format!("A gentle reminder: {text}"),
                        asks: None,
                    });
                    let hours = i64::from(remind_after_hours.unwrap_or(24));
                    effects.push(Effect::Deadline { step: current, visit, at: now + Duration::hours(hours), round: 2 });
                } else {
                    effects
                        .push(Effect::Escalate { step: current, reason: "No answer, even after a reminder.".into() });
                }
            }
            (Phase::InConversation, Input::Answer(raw), StepKind::Conversation { .. }) => {
                let raw = raw.trim();
                if raw.is_empty() {
                    return Err(RunError::BadAnswer("Please write something before sending.".into()));
                }
                run.turns += 1;
                effects.push(Effect::AiTurn { step: current.clone(), visit });
            }
            (
                Phase::InConversation,
                Input::AiReply { text, goal_met },
                StepKind::Conversation { max_turns, variable, .. },
            ) => {
                effects.push(Effect::Say { step: current.clone(), visit, text: text.clone(), asks: None });
                if goal_met || run.turns >= *max_turns {
                    if let Some(variable) = variable {
                        run.answers.insert(variable.clone(), text);
                    }
                    self.finish_step(run, self.following(step), now, &mut effects)?;
                }
            }
            (Phase::Waiting, Input::Fire, StepKind::Wait { .. }) => {
                self.finish_step(run, self.following(step), now, &mut effects)?
            }
            (Phase::Waiting, Input::Event(name), StepKind::Wait { until: WaitUntil::Event { name: n }, .. })
                if *n == name =>
            {
                self.finish_step(run, self.following(step), now, &mut effects)?
            }
            (Phase::Waiting, Input::Timeout, StepKind::Wait { nudge, timeout_next, timeout_hours, .. }) => {
                run.timeouts += 1;
                match nudge {
                    // "No reply in X": a nudge, and waiting as long again.
                    Some(nudge) if run.timeouts == 1 => {
                        effects.push(Effect::Say { step: current.clone(), visit, text: nudge.clone(), asks: None });
                        let hours = i64::from(timeout_hours.unwrap_or(24));
                        effects.push(Effect::Deadline {
                            step: current,
                            visit,
                            at: now + Duration::hours(hours),
                            round: 2,
                        });
                    }
                    // Still nothing after the nudge: the creator hears of it, and the timeout path is taken.
                    Some(_) => {
                        effects.push(Effect::Escalate {
                            step: current.clone(),
                            reason: "No reply, even after a nudge.".into(),
                        });
                        let next = timeout_next.as_deref().or(self.following(step));
                        self.finish_step(run, next, now, &mut effects)?;
                    }
                    None => {
                        let next = timeout_next.as_deref().or(self.following(step));
                        self.finish_step(run, next, now, &mut effects)?;
                    }
                }
            }
            (Phase::AwaitingDecision, Input::Decision(choice), StepKind::Checkpoint { options, reject_next, .. }) => {
                let next = if options.is_empty() {
                    match choice.to_ascii_lowercase().as_str() {
                        "approve" => self.following(step),
                        "reject" => reject_next.as_deref().or(self.following(step)),
                        _ => return Err(RunError::BadAnswer("Approve or reject.".into())),
                    }
                } else {
                    let option = options
                        .iter()
                        .find(|o| o.label.eq_ignore_ascii_case(choice.trim()))
                        .ok_or_else(|| RunError::BadAnswer("Choose one of the paths.".into()))?;
                    Some(option.next.as_str())
                };
                self.finish_step(run, next, now, &mut effects)?;
            }
            (Phase::AwaitingDecision, Input::Timeout, StepKind::Checkpoint { question, deadline_hours, .. })
                if run.timeouts == 0 =>
            {
                // Half the time is gone: the decider is reminded; the deadline itself comes next.
                run.timeouts = 1;
                let hours = i64::from((*deadline_hours).max(1));
                effects.push(Effect::Remind {
                    step: current.clone(),
                    text: format!("A decision is waiting: {}", fill(question, run)),
                });
                let deadline = now + Duration::minutes(hours * 30);
                effects.push(Effect::Deadline { step: current, visit, at: deadline, round: 2 });
            }
            (
                Phase::AwaitingDecision,
                Input::Timeout,
                StepKind::Checkpoint { options, reject_next, default_option: Some(default), .. },
            ) => {
                let next = if options.is_empty() {
                    if default.eq_ignore_ascii_case("reject") { reject_next.as_deref() } else { None }
                } else {
                    options.iter().find(|o| o.label == *default).map(|o| o.next.as_str())
                };
                self.finish_step(run, next.or(self.following(step)), now, &mut effects)?;
            }
            (Phase::AwaitingDecision, Input::Timeout, StepKind::Checkpoint { default_option: None, .. }) => {
                effects
                    .push(Effect::Escalate { step: current.clone(), reason: "The decision's deadline passed.".into() });
            }
            _ => return Err(RunError::Unexpected),
        }
        Ok(effects)
    }

    /// Makes `id` the current step and schedules it.
    fn enter(&self, run: &mut Run, id: &str, now: DateTime<Utc>, effects: &mut Vec<Effect>) -> Result<(), RunError> {
        let step = self.step(id).ok_or_else(|| RunError::MissingStep(id.to_owned()))?;
        let visit = run.visits.entry(id.to_owned()).and_modify(|v| *v += 1).or_insert(1);
        let visit = *visit;
        run.step = Some(id.to_owned());
        run.phase = Phase::Scheduled;
        run.turns = 0;
        run.timeouts = 0;
        let due = match &step.trigger {
            Trigger::Completion => Due::At(now),
            Trigger::CompletionGap { min_gap_minutes } => Due::At(now + Duration::minutes(i64::from(*min_gap_minutes))),
            Trigger::After { hours } => Due::At(now + Duration::hours(i64::from(*hours))),
            Trigger::TimeOfDay { time, days } => Due::TimeOfDay { time: *time, days: days.clone(), after: now },
            Trigger::Moment { at } => Due::At((*at).max(now)),
            Trigger::Event { name } => Due::Event(name.clone()),
            // The scheduler postpones the firing while the subscriber keeps replying.
            Trigger::Inactive { days } => Due::At(now + Duration::days(i64::from(*days))),
        };
        effects.push(Effect::Schedule { step: id.to_owned(), visit, due });
        Ok(())
    }

    /// The current step's moment arrived: do what it does.
    fn fire(
        &self,
        run: &mut Run,
        step: &'a Step,
        visit: u32,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), RunError> {
        let id = step.id.clone();
        match &step.kind {
            StepKind::Message { text } => {
                effects.push(Effect::Say { step: id, visit, text: fill(text, run), asks: None });
                self.finish_step(run, self.following(step), now, effects)?;
            }
            StepKind::Question { text, answer, remind_after_hours, .. } => {
                effects.push(Effect::Say {
                    step: id.clone(),
                    visit,
                    text: fill(text, run),
                    asks: Some(answer.clone()),
                });
                run.phase = Phase::AwaitingAnswer;
                if let Some(hours) = remind_after_hours {
                    let at = now + Duration::hours(i64::from(*hours));
                    effects.push(Effect::Deadline { step: id, visit, at, round: 1 });
                }
            }
            StepKind::Conversation { opening, .. } => {
                effects.push(Effect::Say { step: id, visit, text: fill(opening, run), asks: Some(AnswerKind::Text) });
                run.phase = Phase::InConversation;
            }
            StepKind::Wait { until, timeout_hours, .. } => {
                run.phase = Phase::Waiting;
                match until {
                    WaitUntil::Hours { hours } => effects.push(Effect::Schedule {
                        step: id,
                        visit,
                        due: Due::At(now + Duration::hours(i64::from(*hours))),
                    }),
                    WaitUntil::Moment { at } => {
                        effects.push(Effect::Schedule { step: id, visit, due: Due::At((*at).max(now)) })
                    }
                    WaitUntil::Event { name } => {
                        effects.push(Effect::Schedule { step: id.clone(), visit, due: Due::Event(name.clone()) });
                        if let Some(hours) = timeout_hours {
                            effects.push(Effect::Deadline {
                                step: id,
                                visit,
                                at: now + Duration::hours(i64::from(*hours)),
                                round: 1,
                            });
                        }
                    }
                }
            }
            StepKind::Branch { rules, otherwise } => {
                let next = rules
                    .iter()
                    .find(|rule| {
                        if rule.all {
                            rule.conditions.iter().all(|c| c.holds(&run.answers))
                        } else {
                            rule.conditions.iter().any(|c| c.holds(&run.answers))
                        }
                    })
                    .map(|rule| rule.next.as_str())
                    .or(otherwise.as_deref())
                    .or(self.following(step));
                self.finish_step(run, next, now, effects)?;
            }
            StepKind::Checkpoint { question, decider, options, deadline_hours, .. } => {
                run.phase = Phase::AwaitingDecision;
                let options = if options.is_empty() {
                    vec!["Approve".into(), "Reject".into()]
                } else {
                    options.iter().map(|o| o.label.clone()).collect()
                };
                let deadline = now + Duration::hours(i64::from((*deadline_hours).max(1)));
                effects.push(Effect::Decide {
                    step: id.clone(),
                    visit,
                    decider: *decider,
                    question: fill(question, run),
                    options,
                    deadline,
                });
                // The first timeout at half time reminds the decider; the second is the deadline.
                let hours = i64::from((*deadline_hours).max(1));
                effects.push(Effect::Deadline { step: id, visit, at: now + Duration::minutes(hours * 30), round: 1 });
            }
            StepKind::End { outcome } => {
                run.completed += 1;
                run.phase = Phase::Finished;
                run.step = None;
                run.outcome = Some(outcome.clone());
                effects.push(Effect::Finish { outcome: outcome.clone() });
            }
        }
        Ok(())
    }

    /// The current step is done; on to `next` (or the end when there is none).
    fn finish_step(
        &self,
        run: &mut Run,
        next: Option<&str>,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), RunError> {
        run.completed += 1;
        if run.completed as usize > MAX_STEPS * 10 || effects.len() > MAX_STEPS {
            return Err(RunError::Runaway);
        }
        match next {
            None => {
                run.phase = Phase::Finished;
                run.step = None;
                run.outcome = Some("completed".into());
                effects.push(Effect::Finish { outcome: "completed".into() });
                Ok(())
            }
            Some(next) => {
                self.enter(run, next, now, effects)?;
                // Steps due right away fire in the same go (a branch after an answer, a message
                // straight after another).
                if matches!(effects.last(), Some(Effect::Schedule { due: Due::At(at), .. }) if *at <= now) {
                    effects.pop();
                    let step = self.step(next).ok_or_else(|| RunError::MissingStep(next.to_owned()))?;
                    let visit = run.visits.get(next).copied().unwrap_or(1);
                    self.fire(run, step, visit, now, effects)?;
                }
                Ok(())
            }
        }
    }
}

/// A step's text with the run's variables filled in; an unknown variable stays visible as
/// written, never silently blank (validation keeps that from happening in a published sequence).
/// Which version of a Vault prompt a step refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptAt {
    Label(String),
    Version(i32),
}

/// The Vault prompts a text refers to, as (the whole reference, prompt id, which version):
/// `{{prompt:ID}}` (its `production` label), `{{prompt:ID@staging}}` (a label) or
/// `{{prompt:ID@v3}}` (a version number). Publishing puts the prompt's text in their place.
pub fn prompt_refs(text: &str) -> Vec<(String, String, PromptAt)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{prompt:") {
        let Some(close) = rest[open..].find("}}").map(|c| open + c) else { break };
        let inner = rest[open + "{{prompt:".len()..close].trim();
        let (id, at) = inner.split_once('@').unwrap_or((inner, "production"));
        let at = match at.strip_prefix('v').and_then(|n| n.parse::<i32>().ok()) {
            Some(number) => PromptAt::Version(number),
            None => PromptAt::Label(at.trim().to_owned()),
        };
        out.push((rest[open..close + 2].to_owned(), id.trim().to_owned(), at));
        rest = &rest[close + 2..];
    }
    out
}

/// The texts of a step that may hold variables and prompt references.
pub fn texts_mut(step: &mut Step) -> Vec<&mut String> {
    match &mut step.kind {
        StepKind::Message { text } | StepKind::Question { text, .. } => vec![text],
        StepKind::Conversation { opening, goal, persona, .. } => vec![opening, goal, persona],
        StepKind::Checkpoint { question, .. } => vec![question],
        StepKind::Wait { nudge, .. } => nudge.iter_mut().collect(),
        _ => vec![],
    }
}

pub fn fill(text: &str, run: &Run) -> String {
    fill_with(text, &run.answers)
}

pub fn fill_with(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}").map(|c| open + c) else { break };
        let name = rest[open + 2..close].trim();
        out.push_str(&rest[..open]);
        match values.get(name) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[open..close + 2]),
        }
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

/// Variables every subscriber has from the start.
pub const BUILT_IN_VARIABLES: [&str; 3] = ["name", "first_name", "goal"];

/// A problem that keeps a sequence from being published, on the step it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepProblem {
    /// `None`: the sequence as a whole.
    pub step: Option<String>,
    pub message: String,
}

impl StepProblem {
    fn on(step: &str, message: impl Into<String>) -> Self {
        Self { step: Some(step.to_owned()), message: message.into() }
    }
}

/// Everything wrong with a sequence's steps: missing targets, duplicate ids, unreachable steps,
/// loops with no way out, variables used before any step on every path provides them.
pub fn validate(steps: &[Step]) -> Vec<StepProblem> {
    let mut problems = Vec::new();
    if steps.is_empty() {
        problems.push(StepProblem { step: None, message: "Add at least one step.".into() });
        return problems;
    }
    if steps.len() > MAX_STEPS {
        problems.push(StepProblem { step: None, message: format!("A sequence has at most {MAX_STEPS} steps.") });
    }
    let graph = Graph::new(steps);
    let mut ids = BTreeSet::new();
    for step in steps {
        if step.id.trim().is_empty() {
            problems.push(StepProblem { step: None, message: "Every step needs an id.".into() });
        } else if !ids.insert(step.id.as_str()) {
            problems.push(StepProblem::on(&step.id, "Two steps have this id."));
        }
        if step.title.trim().is_empty() {
            problems.push(StepProblem::on(&step.id, "Give the step a title."));
        }
        for target in declared_targets(step) {
            if graph.step(target).is_none() {
                problems.push(StepProblem::on(&step.id, format!("Goes to a step that does not exist: “{target}”.")));
            }
        }
        problems.extend(step_content_problems(step));
    }
    // Reachability from the first step.
    let reachable = reach(&graph, &steps[0].id);
    for step in steps.iter().filter(|s| !reachable.contains(s.id.as_str())) {
        problems.push(StepProblem::on(&step.id, "No path leads to this step."));
    }
    // Every reachable step must be able to reach an end (an End step or the end of the list).
    for step in steps.iter().filter(|s| reachable.contains(s.id.as_str())) {
        if !can_finish(&graph, step) {
            problems.push(StepProblem::on(&step.id, "This step is in a loop with no way out."));
        }
    }
    // Variables: what is surely known on arrival at each step (intersection over paths).
    let known = known_variables(&graph, steps);
    for step in steps.iter().filter(|s| reachable.contains(s.id.as_str())) {
        let have = known.get(step.id.as_str()).cloned().unwrap_or_default();
        for name in used_variables(step) {
            if !have.contains(&name) && !BUILT_IN_VARIABLES.contains(&name.as_str()) {
                problems.push(StepProblem::on(
                    &step.id,
                    format!("Uses {{{{{name}}}}}, which no earlier step provides on every path."),
                ));
            }
        }
    }
    problems
}

fn declared_targets(step: &Step) -> Vec<&str> {
    let mut out: Vec<&str> = step.next.as_deref().into_iter().collect();
    match &step.kind {
        StepKind::Branch { rules, otherwise } => {
            out.extend(rules.iter().map(|r| r.next.as_str()));
            out.extend(otherwise.as_deref());
        }
        StepKind::Checkpoint { options, reject_next, .. } => {
            out.extend(options.iter().map(|o| o.next.as_str()));
            out.extend(reject_next.as_deref());
        }
        StepKind::Wait { timeout_next, .. } => out.extend(timeout_next.as_deref()),
        _ => {}
    }
    out
}

fn step_content_problems(step: &Step) -> Vec<StepProblem> {
    let mut out = Vec::new();
    let mut need = |ok: bool, message: &str| {
        if !ok {
            out.push(StepProblem::on(&step.id, message));
        }
    };
    match &step.kind {
        StepKind::Message { text } => need(!text.trim().is_empty(), "Write the message."),
        StepKind::Question { text, answer, variable, .. } => {
            need(!text.trim().is_empty(), "Write the question.");
            need(is_variable_name(variable), "Name the answer's variable (letters, digits, _).");
            if let AnswerKind::Single { options } | AnswerKind::Multiple { options } = answer {
                need(options.len() >= 2, "A choice needs at least two options.");
            }
        }
        StepKind::Conversation { goal, opening, max_turns, .. } => {
            need(!goal.trim().is_empty(), "Say what the conversation is for.");
            need(!opening.trim().is_empty(), "Write the opening message.");
            need((1..=50).contains(max_turns), "Between 1 and 50 turns.");
        }
        StepKind::Wait { until, .. } => match until {
            WaitUntil::Hours { hours } => need(*hours > 0, "Wait at least one hour."),
            WaitUntil::Event { name } => need(!name.trim().is_empty(), "Name the event to wait for."),
            WaitUntil::Moment { .. } => {}
        },
        StepKind::Branch { rules, .. } => {
            need(!rules.is_empty(), "Add at least one rule.");
            for rule in rules {
                need(!rule.conditions.is_empty(), "Each rule needs a condition.");
            }
        }
        StepKind::Checkpoint { question, options, default_option, .. } => {
            need(!question.trim().is_empty(), "Say what is to be decided.");
            need(options.is_empty() || options.len() >= 2, "Give at least two paths, or none for approve/reject.");
            if let Some(default) = default_option {
                let known = if options.is_empty() {
                    ["approve", "reject"].iter().any(|d| default.eq_ignore_ascii_case(d))
                } else {
                    options.iter().any(|o| o.label == *default)
                };
                need(known, "The default is not one of the paths.");
            }
        }
        StepKind::End { outcome } => need(!outcome.trim().is_empty(), "Name the outcome."),
    }
    if let Trigger::TimeOfDay { days, .. } = &step.trigger {
        need(!days.is_empty() && days.iter().all(|d| *d < 7), "Choose at least one weekday.");
    }
    if let Trigger::Event { name } = &step.trigger {
        need(!name.trim().is_empty(), "Name the event.");
    }
    if let Trigger::Inactive { days } = &step.trigger {
        need((1..=365).contains(days), "Between 1 and 365 days without a reply.");
    }
    out
}

pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

fn reach<'a>(graph: &Graph<'a>, from: &'a str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::from([from]);
    let mut queue = VecDeque::from([from]);
    while let Some(id) = queue.pop_front() {
        if let Some(step) = graph.step(id) {
            for next in graph.exits(step) {
                if seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
    }
    seen
}

fn can_finish<'a>(graph: &Graph<'a>, step: &'a Step) -> bool {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([step]);
    while let Some(s) = queue.pop_front() {
        if !seen.insert(s.id.as_str()) {
            continue;
        }
        let exits = graph.exits(s);
        // An End step, the end of the list, or a broken target (reported on its own).
        let off_the_end =
            graph.following(s).is_none() && !matches!(s.kind, StepKind::Branch { .. } | StepKind::Checkpoint { .. });
        if matches!(s.kind, StepKind::End { .. }) || off_the_end || exits.is_empty() {
            return true;
        }
        queue.extend(exits.into_iter().filter_map(|id| graph.step(id)));
    }
    false
}

/// The variables a step provides when it completes.
fn provided(step: &Step) -> Option<&str> {
    match &step.kind {
        StepKind::Question { variable, .. } => Some(variable),
        StepKind::Conversation { variable, .. } => variable.as_deref(),
        _ => None,
    }
}

fn used_variables(step: &Step) -> Vec<String> {
    let texts: Vec<&str> = match &step.kind {
        StepKind::Message { text } | StepKind::Question { text, .. } => vec![text],
        StepKind::Conversation { opening, goal, persona, .. } => vec![opening, goal, persona],
        StepKind::Checkpoint { question, .. } => vec![question],
        StepKind::Wait { nudge, .. } => nudge.iter().map(String::as_str).collect(),
        _ => vec![],
    };
    let mut names: Vec<String> = texts.into_iter().flat_map(super::template::variables).collect();
    if let StepKind::Branch { rules, .. } = &step.kind {
        names.extend(rules.iter().flat_map(|r| r.conditions.iter().map(|c| c.variable.clone())));
    }
    names.dedup();
    names
}

/// For each reachable step, the variables provided on every path to it: a forward dataflow with
/// intersection at joins, iterated to a fixed point.
fn known_variables<'a>(graph: &Graph<'a>, steps: &'a [Step]) -> BTreeMap<&'a str, BTreeSet<String>> {
    let all: BTreeSet<String> = steps.iter().filter_map(provided).map(str::to_owned).collect();
    let mut known: BTreeMap<&str, BTreeSet<String>> = steps.iter().map(|s| (s.id.as_str(), all.clone())).collect();
    known.insert(steps[0].id.as_str(), BTreeSet::new());
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds < steps.len() * 4 + 8 {
        changed = false;
        rounds += 1;
        for step in steps {
            let Some(mut out) = known.get(step.id.as_str()).cloned() else { continue };
            if let Some(var) = provided(step) {
                out.insert(var.to_owned());
            }
            for next in graph.exits(step) {
                if next == steps[0].id {
                    continue;
                }
                let entry = known.entry(next).or_default();
                let meet: BTreeSet<String> = entry.intersection(&out).cloned().collect();
                if meet != *entry {
                    *entry = meet;
                    changed = true;
                }
            }
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn step(id: &str, kind: StepKind) -> Step {
        Step { id: id.into(), title: id.into(), trigger: Trigger::Completion, kind, next: None }
    }

    fn message(id: &str, text: &str) -> Step {
        step(id, StepKind::Message { text: text.into() })
    }

    fn question(id: &str, variable: &str) -> Step {
        step(
            id,
            StepKind::Question {
                text: "How was it?".into(),
                answer: AnswerKind::Scale,
                variable: variable.into(),
                remind_after_hours: None,
            },
        )
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn branching() -> Vec<Step> {
        vec![
            message("hello", "Hi {{name}}"),
            question("rate", "mood"),
            step(
                "route",
                StepKind::Branch {
                    rules: vec![BranchRule {
                        all: true,
                        conditions: vec![Condition {
                            variable: "mood".into(),
                            test: Test::Between { min: 1.0, max: 4.0 },
                        }],
                        next: "low".into(),
                    }],
                    otherwise: Some("high".into()),
                },
            ),
            Step { next: Some("done".into()), ..message("low", "Sorry to hear that ({{mood}}).") },
            message("high", "Great: {{mood}}!"),
            step("done", StepKind::End { outcome: "completed".into() }),
        ]
    }

    #[test]
    fn a_run_says_asks_branches_and_finishes() {
        let steps = branching();
        assert_eq!(validate(&steps), vec![]);
        let graph = Graph::new(&steps);
        let mut run = Run { answers: BTreeMap::from([("name".into(), "Ada".into())]), ..Run::default() };
        let effects = graph.start(&mut run, now()).unwrap();
        assert_eq!(effects, vec![Effect::Schedule { step: "hello".into(), visit: 1, due: Due::At(now()) }]);
        let effects = graph.advance(&mut run, Input::Fire, now()).unwrap();
        assert!(matches!(&effects[0], Effect::Say { text, .. } if text == "Hi Ada"));
        assert!(matches!(&effects[1], Effect::Say { asks: Some(AnswerKind::Scale), .. }));
        assert_eq!(run.phase, Phase::AwaitingAnswer);
        assert_eq!(
            graph.advance(&mut run.clone(), Input::Answer("eleven".into()), now()),
            Err(RunError::BadAnswer("Answer with a number from 1 to 10.".into()))
        );
        let effects = graph.advance(&mut run, Input::Answer("3".into()), now()).unwrap();
        assert!(matches!(&effects[0], Effect::Say { text, .. } if text == "Sorry to hear that (3)."), "{effects:?}");
        assert_eq!(effects.last(), Some(&Effect::Finish { outcome: "completed".into() }));
        assert_eq!(run.phase, Phase::Finished);
    }

    #[test]
    fn the_other_branch_and_timed_triggers() {
        let mut steps = branching();
        steps[4].trigger = Trigger::After { hours: 24 };
        let graph = Graph::new(&steps);
        let mut run = Run::default();
        graph.start(&mut run, now()).unwrap();
        graph.advance(&mut run, Input::Fire, now()).unwrap();
        let effects = graph.advance(&mut run, Input::Answer("9".into()), now()).unwrap();
        assert_eq!(
            effects,
            vec![Effect::Schedule { step: "high".into(), visit: 1, due: Due::At(now() + Duration::hours(24)) }]
        );
        let later = now() + Duration::hours(24);
        let effects = graph.advance(&mut run, Input::Fire, later).unwrap();
        assert!(matches!(&effects[0], Effect::Say { text, .. } if text == "Great: 9!"));
    }

    #[test]
    fn checkpoints_wait_for_a_decision_or_their_deadline() {
        let steps = vec![
            step(
                "gate",
                StepKind::Checkpoint {
                    question: "Ready for week two?".into(),
                    decider: Decider::Creator,
                    options: vec![],
                    reject_next: Some("stop".into()),
                    deadline_hours: 48,
                    default_option: None,
                },
            ),
            Step { next: Some("end".into()), ..message("go", "On we go") },
            step("stop", StepKind::End { outcome: "rejected".into() }),
            step("end", StepKind::End { outcome: "completed".into() }),
        ];
        assert_eq!(validate(&steps), vec![]);
        let graph = Graph::new(&steps);
        let mut run = Run::default();
        graph.start(&mut run, now()).unwrap();
        let effects = graph.advance(&mut run, Input::Fire, now()).unwrap();
        assert!(matches!(&effects[0], Effect::Decide { options, .. } if options == &["Approve", "Reject"]));
        // Half way to the deadline the decider is reminded; at the deadline, with no default, it escalates.
        assert_eq!(
            effects[1],
            Effect::Deadline { step: "gate".into(), visit: 1, at: now() + Duration::hours(24), round: 1 }
        );
        let mut timed_out = run.clone();
        let effects = graph.advance(&mut timed_out, Input::Timeout, now()).unwrap();
        assert!(
            matches!(&effects[0], Effect::Remind { text, .. } if text == "A decision is waiting: Ready for week two?")
        );
        assert_eq!(
            effects[1],
            Effect::Deadline { step: "gate".into(), visit: 1, at: now() + Duration::hours(24), round: 2 }
        );
        let effects = graph.advance(&mut timed_out, Input::Timeout, now()).unwrap();
        assert!(matches!(&effects[0], Effect::Escalate { .. }));
        assert_eq!(timed_out.phase, Phase::AwaitingDecision, "still waiting for the decision");
        let effects = graph.advance(&mut run, Input::Decision("reject".into()), now()).unwrap();
        assert_eq!(effects, vec![Effect::Finish { outcome: "rejected".into() }]);
    }

    #[test]
    fn an_inactivity_step_is_due_its_days_after_the_previous_step() {
        let quiet = |days| Step { trigger: Trigger::Inactive { days }, ..message("miss", "We miss you, {{name}}.") };
        let steps =
            vec![question("rate", "mood"), quiet(3), step("end", StepKind::End { outcome: "completed".into() })];
        assert_eq!(validate(&steps), vec![]);
        let graph = Graph::new(&steps);
        let mut run = Run::default();
        graph.start(&mut run, now()).unwrap();
        graph.advance(&mut run, Input::Fire, now()).unwrap();
        let later = now() + Duration::hours(5);
        let effects = graph.advance(&mut run, Input::Answer("7".into()), later).unwrap();
        assert_eq!(
            effects,
            vec![Effect::Schedule { step: "miss".into(), visit: 1, due: Due::At(later + Duration::days(3)) }]
        );
        assert_eq!(steps[1].trigger.describe(), "after 3 day(s) without a reply from them");

        let never = vec![quiet(0), step("end", StepKind::End { outcome: "completed".into() })];
        assert_eq!(
            validate(&never),
            vec![StepProblem { step: Some("miss".into()), message: "Between 1 and 365 days without a reply.".into() }]
        );
    }

    #[test]
    fn waits_for_an_event_time_out_with_a_nudge() {
        let steps = vec![
            step(
                "wait",
                StepKind::Wait {
                    until: WaitUntil::Event { name: "workout_logged".into() },
                    timeout_hours: Some(48),
                    nudge: Some("Still there?".into()),
                    timeout_next: Some("missed".into()),
                },
            ),
            Step { next: Some("end".into()), ..message("logged", "Nice work") },
            message("missed", "Let's try again tomorrow"),
            step("end", StepKind::End { outcome: "completed".into() }),
        ];
        assert_eq!(validate(&steps), vec![]);
        let graph = Graph::new(&steps);
        let mut run = Run::default();
        graph.start(&mut run, now()).unwrap();
        graph.advance(&mut run, Input::Fire, now()).unwrap();
        assert_eq!(run.phase, Phase::Waiting);
        let mut other = run.clone();
        let effects = graph.advance(&mut other, Input::Event("workout_logged".into()), now()).unwrap();
        assert!(matches!(&effects[0], Effect::Say { text, .. } if text == "Nice work"));
        let said = |effects: &[Effect]| -> Vec<String> {
            effects
                .iter()
                .filter_map(|e| if let Effect::Say { text, .. } = e { Some(text.clone()) } else { None })
                .collect()
        };
        // No reply in 48 h: a nudge, and 48 h more.
        let effects = graph.advance(&mut run, Input::Timeout, now()).unwrap();
        assert_eq!(said(&effects), ["Still there?"]);
        assert_eq!(
            effects[1],
            Effect::Deadline { step: "wait".into(), visit: 1, at: now() + Duration::hours(48), round: 2 }
        );
        assert_eq!(run.phase, Phase::Waiting);
        // Still nothing: the creator is told and the timeout path is taken.
        let effects = graph.advance(&mut run, Input::Timeout, now()).unwrap();
        assert!(matches!(&effects[0], Effect::Escalate { reason, .. } if reason == "No reply, even after a nudge."));
        assert_eq!(said(&effects), ["Let's try again tomorrow"]);
        assert_eq!(effects.last(), Some(&Effect::Finish { outcome: "completed".into() }));
    }

    #[test]
    fn prompt_references_name_a_label_or_a_version() {
        let refs =
            prompt_refs("Before: {{prompt:abc}} then {{ prompt:x }} {{prompt:def@staging}} and {{prompt:ghi@v3}}.");
        assert_eq!(
            refs,
            vec![
                ("{{prompt:abc}}".to_owned(), "abc".to_owned(), PromptAt::Label("production".into())),
                ("{{prompt:def@staging}}".to_owned(), "def".to_owned(), PromptAt::Label("staging".into())),
                ("{{prompt:ghi@v3}}".to_owned(), "ghi".to_owned(), PromptAt::Version(3)),
            ]
        );
        // References are not variables the run must provide.
        let steps = vec![message("a", "{{prompt:abc@v1}}"), step("end", StepKind::End { outcome: "done".into() })];
        assert_eq!(validate(&steps), vec![]);
    }

    #[test]
    fn validation_names_the_step_concerned() {
        let mut steps = vec![
            message("a", "Hello {{mood}}"),
            Step { next: Some("nowhere".into()), ..question("b", "mood") },
            message("orphan", "never"),
        ];
        steps[2].next = Some("orphan".into());
        let problems = validate(&steps);
        let on = |id: &str| {
            problems.iter().filter(|p| p.step.as_deref() == Some(id)).map(|p| p.message.clone()).collect::<Vec<_>>()
        };
        assert_eq!(on("a"), ["Uses {{mood}}, which no earlier step provides on every path."]);
        assert_eq!(on("b"), ["Goes to a step that does not exist: “nowhere”."]);
        assert_eq!(on("orphan"), ["No path leads to this step."]);
    }

    #[test]
    fn a_loop_with_an_exit_is_fine_and_one_without_is_not() {
        let looped = |exit: bool| {
            vec![
                question("ask", "n"),
                step(
                    "check",
                    StepKind::Branch {
                        rules: vec![BranchRule {
                            all: false,
                            conditions: vec![Condition {
                                variable: "n".into(),
                                test: Test::Equals { value: "10".into() },
                            }],
                            next: if exit { "end".into() } else { "ask".into() },
                        }],
                        otherwise: Some("ask".into()),
                    },
                ),
                step("end", StepKind::End { outcome: "completed".into() }),
            ]
        };
        assert_eq!(validate(&looped(true)), vec![]);
        let problems = validate(&looped(false));
        assert!(
            problems.iter().any(|p| p.step.as_deref() == Some("ask") && p.message.contains("loop")),
            "{problems:?}"
        );
        // Visits count each entry: the idempotency key of a repeated step differs.
        let steps = looped(true);
        let graph = Graph::new(&steps);
        let mut run = Run::default();
        graph.start(&mut run, now()).unwrap();
        graph.advance(&mut run, Input::Fire, now()).unwrap();
        let effects = graph.advance(&mut run, Input::Answer("4".into()), now()).unwrap();
        assert!(matches!(&effects[0], Effect::Say { visit: 2, .. }), "{effects:?}");
    }

    #[test]
    fn answers_are_checked_by_kind() {
        let single = AnswerKind::Single { options: vec!["Red".into(), "Blue".into()] };
        assert_eq!(single.check("blue"), Ok("Blue".into()));
        assert!(single.check("green").is_err());
        let multiple = AnswerKind::Multiple { options: vec!["A".into(), "B".into(), "C".into()] };
        assert_eq!(multiple.check("c, a, c"), Ok("C, A".into()));
        assert_eq!(AnswerKind::YesNo.check("Y"), Ok("yes".into()));
        assert!(AnswerKind::Text.check("  ").is_err());
    }
}
