//! Prompt templates: `{{name}}` placeholders, their definitions, and rendering with values.
//!
//! A literal `{{` is written `\{{`. Names are letters, digits and `_`, starting with a letter or `_`
//! (whitespace inside the braces is allowed: `{{ name }}`). Rendering checks every value against its
//! definition and reports all problems by name; a missing variable is never silently blank.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits a template into text and variables. An unclosed or invalid `{{` stays literal text.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut cursor = 0;
    while let Some(found) = template[cursor..].find("{{") {
        let open = cursor + found;
        if open > 0 && template.as_bytes()[open - 1] == b'\\' {
            out.push(Piece::Text(&template[text_start..open - 1]));
            out.push(Piece::Text("{{"));
            text_start = open + 2;
            cursor = open + 2;
            continue;
        }
        let close = template[open + 2..].find("}}").map(|c| open + 2 + c);
        match close.map(|c| (c, template[open + 2..c].trim())) {
            Some((close, name)) if is_name(name) => {
                out.push(Piece::Text(&template[text_start..open]));
                out.push(Piece::Var(name));
                text_start = close + 2;
                cursor = close + 2;
            }
            _ => cursor = open + 2,
        }
    }
    out.push(Piece::Text(&template[text_start..]));
    out.retain(|p| !matches!(p, Piece::Text("")));
    out
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// The variable names of a template, in order of first appearance, each once.
pub fn variables(template: &str) -> Vec<String> {
    let mut seen = Vec::<String>::new();
    for piece in pieces(template) {
        if let Piece::Var(name) = piece
            && !seen.iter().any(|s| s == name)
        {
            seen.push(name.to_owned());
        }
    }
    seen
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum VariableKind {
    #[default]
    Text,
    Number,
    Boolean,
    Select,
}

impl VariableKind {
    pub const ALL: [VariableKind; 4] = [Self::Text, Self::Number, Self::Boolean, Self::Select];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Select => "select",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// What a variable accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VariableDef {
    pub name: String,
    #[serde(default)]
    pub kind: VariableKind,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    /// The allowed values of a `select`.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub description: String,
}

fn yes() -> bool {
    true
}

impl VariableDef {
    pub fn text(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: VariableKind::Text,
            required: true,
            default: None,
            options: vec![],
            description: String::new(),
        }
    }

    /// Checks one value; `Err` says what is wrong in words.
    fn check(&self, value: &str) -> Result<String, String> {
        match self.kind {
            VariableKind::Text => Ok(value.to_owned()),
            VariableKind::Number => value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|_| value.trim().to_owned())
                .ok_or_else(|| format!("“{}” must be a number.", self.name)),
            VariableKind::Boolean => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Ok("true".into()),
                "false" | "no" | "0" | "off" => Ok("false".into()),
                _ => Err(format!("“{}” must be true or false.", self.name)),
            },
            VariableKind::Select => {
                if self.options.iter().any(|o| o == value) {
                    Ok(value.to_owned())
                } else {
                    Err(format!("“{}” must be one of: {}.", self.name, self.options.join(", ")))
                }
            }
        }
    }
}

/// The definitions for a template: the given ones for names it uses (in template order), plus a
/// required text definition for each name without one. Definitions of names no longer used drop.
pub fn reconcile(template: &str, given: &[VariableDef]) -> Vec<VariableDef> {
    variables(template)
        .into_iter()
        .map(|name| given.iter().find(|d| d.name == name).cloned().unwrap_or_else(|| VariableDef::text(&name)))
        .collect()
}

/// Checks definitions themselves: a select needs options, a default must be valid.
pub fn check_definitions(defs: &[VariableDef]) -> Result<(), VariableProblem> {
    for def in defs {
        if def.kind == VariableKind::Select && def.options.is_empty() {
            return Err(VariableProblem {
                name: def.name.clone(),
                message: "A select needs at least one option.".into(),
            });
        }
        if let Some(default) = &def.default
            && let Err(message) = def.check(default)
        {
            return Err(VariableProblem { name: def.name.clone(), message: format!("Default: {message}") });
        }
    }
    Ok(())
}

/// A variable that could not be filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VariableProblem {
    pub name: String,
    pub message: String,
}

/// Renders a template: every variable gets its value (or its default). All problems come back at
/// once, in template order.
pub fn render(
    template: &str,
    defs: &[VariableDef],
    values: &BTreeMap<String, String>,
) -> Result<String, Vec<VariableProblem>> {
    let defs = reconcile(template, defs);
    let mut resolved = BTreeMap::<&str, String>::new();
    let mut problems = Vec::new();
    for def in &defs {
        let given = values.get(&def.name).filter(|v| !(v.trim().is_empty() && def.kind != VariableKind::Text));
        let value = match (given, &def.default) {
            (Some(v), _) if !v.is_empty() => Some(v.clone()),
            (_, Some(default)) => Some(default.clone()),
            (Some(v), None) if !def.required => Some(v.clone()),
            (None, None) if !def.required => Some(String::new()),
            _ => None,
        };
        match value {
            None => problems
                .push(VariableProblem { name: def.name.clone(), message: format!("“{}” is required.", def.name) }),
            Some(v) if v.is_empty() && !def.required => {
                resolved.insert(&def.name, v);
            }
            Some(v) => match def.check(&v) {
                Ok(v) => {
                    resolved.insert(&def.name, v);
                }
                Err(message) => problems.push(VariableProblem { name: def.name.clone(), message }),
            },
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name) => out.push_str(resolved.get(name).map_or("", String::as_str)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn finds_variables_once_in_order() {
        assert_eq!(variables("Hi {{name}}, {{ goal }} and {{name}} again"), ["name", "goal"]);
        assert_eq!(variables("no vars {{ not a name }} {{1x}} {{unclosed"), Vec::<String>::new());
        assert_eq!(variables(r"literal \{{name}} then {{real}}"), ["real"]);
    }

    #[test]
    fn renders_with_values_and_escapes() {
        let out = render(r"Dear {{name}}, \{{name}} stays. {{name}}!", &[], &values(&[("name", "Ada")])).unwrap();
        assert_eq!(out, "Dear Ada, {{name}} stays. Ada!");
        assert_eq!(render("{{ a }}{{b}}", &[], &values(&[("a", "1"), ("b", "2")])).unwrap(), "12");
        assert_eq!(render("no variables", &[], &values(&[])).unwrap(), "no variables");
        assert_eq!(render("{{ unclosed", &[], &values(&[])).unwrap(), "{{ unclosed");
    }

    #[test]
    fn reports_every_missing_or_invalid_variable_by_name() {
        let defs = vec![
            VariableDef { kind: VariableKind::Number, ..VariableDef::text("count") },
            VariableDef {
                kind: VariableKind::Select,
                options: vec!["formal".into(), "casual".into()],
                ..VariableDef::text("tone")
            },
            VariableDef::text("name"),
        ];
        let problems =
            render("{{name}} {{count}} {{tone}}", &defs, &values(&[("count", "many"), ("tone", "rude")])).unwrap_err();
        let names: Vec<_> = problems.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["name", "count", "tone"]);
        assert!(problems[0].message.contains("required"));
        assert!(problems[1].message.contains("number"));
        assert!(problems[2].message.contains("formal, casual"));
    }

    #[test]
    fn defaults_and_optional_variables() {
        let defs = vec![
            VariableDef { default: Some("friend".into()), ..VariableDef::text("name") },
            VariableDef { required: false, ..VariableDef::text("extra") },
            VariableDef { kind: VariableKind::Boolean, ..VariableDef::text("loud") },
        ];
        assert_eq!(
            render("Hi {{name}}{{extra}} {{loud}}", &defs, &values(&[("loud", "yes")])).unwrap(),
            "Hi friend true"
        );
        let err = render("{{loud}}", &defs, &values(&[])).unwrap_err();
        assert_eq!(err[0].name, "loud");
    }

    #[test]
    fn reconcile_keeps_used_definitions_and_adds_missing() {
        let given =
            vec![VariableDef { description: "who".into(), ..VariableDef::text("name") }, VariableDef::text("gone")];
        let defs = reconcile("{{topic}} for {{name}}", &given);
        assert_eq!(defs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["topic", "name"]);
        assert_eq!(defs[1].description, "who");
    }

    #[test]
    fn definitions_are_checked() {
        let bad = vec![VariableDef { kind: VariableKind::Select, ..VariableDef::text("x") }];
        assert!(check_definitions(&bad).is_err());
        let bad_default =
            vec![VariableDef { kind: VariableKind::Number, default: Some("n/a".into()), ..VariableDef::text("x") }];
        assert_eq!(check_definitions(&bad_default).unwrap_err().name, "x");
    }
}
