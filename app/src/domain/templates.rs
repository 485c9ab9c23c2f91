//! Built-in sequence templates: a creator starts from one and edits it. Each is a valid sequence
//! (a unit test validates them all).

use super::sequence::*;
use chrono::NaiveTime;

pub struct Template {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub difficulty: Difficulty,
    pub minutes: i32,
    build: fn() -> Vec<Step>,
}

impl Template {
    pub fn meta(&self) -> SequenceMeta {
        SequenceMeta {
            title: self.title.to_owned(),
            description: self.description.to_owned(),
            category: self.category.to_owned(),
            tags: vec![],
            difficulty: self.difficulty,
            estimated_minutes: self.minutes,
            visibility: Visibility::Private,
            cover_url: None,
        }
    }

    pub fn steps(&self) -> Vec<Step> {
        (self.build)()
    }
}

pub const TEMPLATES: [Template; 5] = [
    Template {
        id: "habit-30",
        title: "30-day habit builder",
        description: "A daily evening check-in on one habit, encouragement either way, and a weekly choice to keep going.",
        category: "Habits",
        difficulty: Difficulty::Beginner,
        minutes: 150,
        build: habit,
    },
    Template {
        id: "leadership-weekly",
        title: "Weekly leadership reflection",
        description: "Every Friday afternoon: one reflection question, a short coached conversation and a confidence check.",
        category: "Leadership",
        difficulty: Difficulty::Intermediate,
        minutes: 60,
        build: leadership,
    },
    Template {
        id: "new-manager",
        title: "New-manager onboarding",
        description: "The first two weeks as a manager: what to do first, a team snapshot, and a coach's go-ahead before one-to-ones.",
        category: "Onboarding",
        difficulty: Difficulty::Beginner,
        minutes: 90,
        build: new_manager,
    },
    Template {
        id: "gratitude",
        title: "Morning gratitude",
        description: "A calm start: one thing you are grateful for each weekday morning, for a week.",
        category: "Wellness",
        difficulty: Difficulty::Beginner,
        minutes: 20,
        build: gratitude,
    },
    Template {
        id: "feedback",
        title: "Giving better feedback",
        description: "Prepare one difficult conversation: the situation, the impact, the ask, and a check-in after it happened.",
        category: "Communication",
        difficulty: Difficulty::Intermediate,
        minutes: 45,
        build: feedback,
    },
];

pub fn by_id(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.id == id)
}

fn at(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

fn step(id: &str, title: &str, trigger: Trigger, kind: StepKind) -> Step {
    Step { id: id.into(), title: title.into(), trigger, kind, next: None }
}

fn say(id: &str, title: &str, trigger: Trigger, text: &str) -> Step {
    step(id, title, trigger, StepKind::Message { text: text.into() })
}

fn ask(id: &str, title: &str, trigger: Trigger, text: &str, answer: AnswerKind, variable: &str) -> Step {
    step(
        id,
        title,
        trigger,
        StepKind::Question { text: text.into(), answer, variable: variable.into(), remind_after_hours: Some(4) },
    )
}

fn goto(mut s: Step, next: &str) -> Step {
    s.next = Some(next.into());
    s
}

fn when(variable: &str, test: Test, next: &str) -> BranchRule {
    BranchRule { all: true, conditions: vec![Condition { variable: variable.into(), test }], next: next.into() }
}

fn end(id: &str, outcome: &str) -> Step {
    step(id, "End", Trigger::Completion, StepKind::End { outcome: outcome.into() })
}

const EVERY_DAY: [u8; 7] = [0, 1, 2, 3, 4, 5, 6];

/// A new sequence: a greeting, a question and the end.
pub fn starter() -> Vec<Step> {
    vec![
        say("welcome", "Welcome", Trigger::Completion, "Hi {{first_name}}, welcome! Let's get started."),
        ask(
            "goal",
            "Your goal",
            Trigger::CompletionGap { min_gap_minutes: 1 },
            "What would you like to achieve?",
            AnswerKind::Text,
            "goal_text",
        ),
        end("end", "completed"),
    ]
}

fn habit() -> Vec<Step> {
    vec![
        say(
            "intro",
            "Welcome",
            Trigger::Completion,
            "Hi {{first_name}}! For the next 30 days we build one habit together, one evening check-in at a time.",
        ),
        ask(
            "which",
            "The habit",
            Trigger::CompletionGap { min_gap_minutes: 1 },
            "Which habit do you want to build?",
            AnswerKind::Text,
            "habit",
        ),
        ask(
            "checkin",
            "Daily check-in",
            Trigger::TimeOfDay { time: at(20, 0), days: EVERY_DAY.to_vec() },
            "Did you {{habit}} today?",
            AnswerKind::YesNo,
            "done_today",
        ),
        step(
            "route",
            "Done today?",
            Trigger::Completion,
            StepKind::Branch {
                rules: vec![when("done_today", Test::Equals { value: "yes".into() }, "yes")],
                otherwise: Some("no".into()),
            },
        ),
        goto(say("yes", "Well done", Trigger::Completion, "Well done — one more day of {{habit}}."), "more"),
        goto(say("no", "Tomorrow", Trigger::Completion, "That happens. Tomorrow is a new day."), "more"),
        step(
            "more",
            "Keep going?",
            Trigger::Completion,
            StepKind::Question {
                text: "Keep the daily check-ins coming?".into(),
                answer: AnswerKind::YesNo,
                variable: "go_on".into(),
                remind_after_hours: None,
            },
        ),
        step(
            "loop",
            "Again or stop",
            Trigger::Completion,
            StepKind::Branch {
                rules: vec![when("go_on", Test::Equals { value: "yes".into() }, "checkin")],
                otherwise: Some("end".into()),
            },
        ),
        end("end", "completed"),
    ]
}

fn leadership() -> Vec<Step> {
    vec![
        ask(
            "moment",
            "Best moment",
            Trigger::TimeOfDay { time: at(16, 0), days: vec![4] },
            "What was your best leadership moment this week?",
            AnswerKind::Text,
            "moment",
        ),
        step(
            "reflect",
            "Reflect together",
            Trigger::Completion,
            StepKind::Conversation {
                goal: "Help the leader name what made the moment work and one thing to repeat next week.".into(),
                persona: "You are a warm, concise leadership coach. Ask one question at a time.".into(),
                opening: "Thanks for sharing. What made that moment work?".into(),
                max_turns: 3,
                variable: Some("takeaway".into()),
            },
        ),
        ask(
            "confidence",
            "Confidence",
            Trigger::Completion,
            "How confident do you feel as a leader this week (1-10)?",
            AnswerKind::Scale,
            "confidence",
        ),
        step(
            "low",
            "Low confidence?",
            Trigger::Completion,
            StepKind::Branch {
                rules: vec![when("confidence", Test::Between { min: 1.0, max: 4.0 }, "coach")],
                otherwise: Some("close".into()),
            },
        ),
        goto(
            step(
                "coach",
                "Coach check",
                Trigger::Completion,
                StepKind::Checkpoint {
                    question: "{{first_name}} rated their confidence {{confidence}}. Offer a one-to-one session?"
                        .into(),
                    decider: Decider::Coach,
                    options: vec![],
                    reject_next: Some("close".into()),
                    deadline_hours: 48,
                    default_option: Some("reject".into()),
                },
            ),
            "offer",
        ),
        goto(
            say(
                "offer",
                "Session offer",
                Trigger::Completion,
                "Your coach would like to meet you this week — look out for an invitation.",
            ),
            "close",
        ),
        say("close", "See you next week", Trigger::Completion, "Noted: {{takeaway}}. See you next Friday."),
        end("end", "completed"),
    ]
}

fn new_manager() -> Vec<Step> {
    vec![
        say(
            "day1",
            "Day one",
            Trigger::Completion,
            "Congratulations on your new role, {{first_name}}! This week: meet each person on your team for 20 minutes.",
        ),
        ask(
            "size",
            "Team size",
            Trigger::After { hours: 24 },
            "How many people report to you?",
            AnswerKind::Single { options: vec!["1-3".into(), "4-8".into(), "9 or more".into()] },
            "team_size",
        ),
        say(
            "plan",
            "Your plan",
            Trigger::After { hours: 48 },
            "With a team of {{team_size}}, plan one-to-ones every two weeks and a weekly team meeting.",
        ),
        step(
            "gate",
            "Coach go-ahead",
            Trigger::After { hours: 72 },
            StepKind::Checkpoint {
                question: "Is {{first_name}} ready for the one-to-ones module?".into(),
                decider: Decider::Creator,
                options: vec![],
                reject_next: Some("later".into()),
                deadline_hours: 72,
                default_option: Some("approve".into()),
            },
        ),
        goto(
            say(
                "ones",
                "One-to-ones",
                Trigger::Completion,
                "Time for one-to-ones: start each with “What is on your mind?” and listen first.",
            ),
            "end",
        ),
        goto(
            say(
                "later",
                "Not yet",
                Trigger::Completion,
                "Your coach suggests spending another week on the basics first.",
            ),
            "referred",
        ),
        end("end", "completed"),
        end("referred", "referred"),
    ]
}

fn gratitude() -> Vec<Step> {
    let morning = || Trigger::TimeOfDay { time: at(7, 30), days: vec![0, 1, 2, 3, 4] };
    vec![
        say(
            "hello",
            "Hello",
            Trigger::Completion,
            "Good morning, {{first_name}}. Each weekday this week, one small question.",
        ),
        ask("one", "Monday", morning(), "What is one thing you are grateful for this morning?", AnswerKind::Text, "g1"),
        ask("two", "Tuesday", morning(), "Who made your life easier recently?", AnswerKind::Text, "g2"),
        ask(
            "three",
            "Wednesday",
            morning(),
            "What is something small that went well yesterday?",
            AnswerKind::Text,
            "g3",
        ),
        say(
            "close",
            "This week",
            Trigger::Completion,
            "This week you noticed: {{g1}}; {{g2}}; {{g3}}. Have a good day.",
        ),
        end("end", "completed"),
    ]
}

fn feedback() -> Vec<Step> {
    vec![
        ask(
            "who",
            "The conversation",
            Trigger::Completion,
            "Which conversation are you preparing (no names needed)?",
            AnswerKind::Text,
            "situation",
        ),
        ask(
            "impact",
            "The impact",
            Trigger::CompletionGap { min_gap_minutes: 5 },
            "What is the impact of what happened, in one sentence?",
            AnswerKind::Text,
            "impact",
        ),
        ask(
            "ask",
            "The ask",
            Trigger::CompletionGap { min_gap_minutes: 5 },
            "What will you ask for?",
            AnswerKind::Text,
            "request",
        ),
        say(
            "script",
            "Your script",
            Trigger::Completion,
            "Your opening: “About {{situation}}: the impact was {{impact}}. Could we {{request}}?”",
        ),
        step(
            "after",
            "Did it happen?",
            Trigger::Completion,
            StepKind::Wait {
                until: WaitUntil::Event { name: "feedback_given".into() },
                timeout_hours: Some(72),
                nudge: Some("Did you get to have the conversation?".into()),
                timeout_next: Some("end".into()),
            },
        ),
        ask("how", "How it went", Trigger::Completion, "How did it go (1-10)?", AnswerKind::Scale, "went"),
        end("end", "completed"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_and_the_starter_are_valid() {
        assert_eq!(validate(&starter()), vec![]);
        for t in &TEMPLATES {
            assert_eq!(validate(&t.steps()), vec![], "{}", t.id);
            assert!(t.meta().problems().is_empty(), "{}", t.id);
        }
    }
}
