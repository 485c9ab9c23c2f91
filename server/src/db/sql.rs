//! Statements built at run time: text with numbered placeholders and the values to bind.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A value bound to a dynamically built statement.
pub(crate) enum Arg {
    Uuid(Uuid),
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

/// Binds `$args` in order to `$query` (compiled once per backend inside `on_pool!`).
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::db::sql::Arg::Uuid(v) => query.bind(*v),
                $crate::db::sql::Arg::Text(v) => query.bind(v.as_str()),
                $crate::db::sql::Arg::Int(v) => query.bind(*v),
                $crate::db::sql::Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// Where the two backends' SQL differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The function `f(haystack, needle)` that gives where `needle` first occurs in `haystack`,
    /// from 1, or 0.
    pub fn position(self) -> &'static str {
        match self {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        }
    }
}

/// A statement's text and arguments, numbered as they are added.
#[derive(Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub fn arg(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// `(…)`: one placeholder per id.
    pub fn in_list(&mut self, ids: &[Uuid]) -> &mut Self {
        self.push("(");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.arg(Arg::Uuid(*id));
        }
        self.push(")")
    }
}
pub(crate) use bind_all;
