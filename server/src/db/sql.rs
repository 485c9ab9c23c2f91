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

    /// A join that keeps the order written: SQLite's `CROSS JOIN` (PostgreSQL plans it).
    pub fn join_in_order(self) -> &'static str {
        match self {
            Dialect::Sqlite => " CROSS JOIN ",
            Dialect::Postgres => " JOIN ",
        }
    }

    /// Locks the rows read from `table` until the transaction ends (PostgreSQL: `FOR UPDATE`;
    /// SQLite's write transactions hold the whole database), skipping those another transaction
    /// holds with `skip_locked`.
    pub fn lock_rows(self, table: &str, skip_locked: bool) -> String {
        match (self, skip_locked) {
            (Dialect::Sqlite, _) => String::new(),
            (Dialect::Postgres, false) => format!(" FOR UPDATE OF {table}"),
            (Dialect::Postgres, true) => format!(" FOR UPDATE OF {table} SKIP LOCKED"),
        }
    }

    /// `column IN (ints)` with the list as one argument: one statement, prepared once, for any
    /// number of them.
    pub fn push_ints_in(self, sql: &mut Sql, column: &str, ints: &[i64]) {
        let list = ints.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        sql.push(column);
        match self {
            Dialect::Sqlite => {
                sql.push(" IN (SELECT value FROM json_each(").arg(Arg::Text(format!("[{list}]"))).push("))")
            }
            Dialect::Postgres => sql.push(" = ANY(CAST(").arg(Arg::Text(format!("{{{list}}}"))).push(" AS bigint[]))"),
        };
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
