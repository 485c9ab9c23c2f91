//! A prompt's fields and their rules, shared by forms, server functions and the REST API.

use super::Invalid;
use super::template::{VariableDef, check_definitions, reconcile};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PromptStatus {
    #[default]
    Draft,
    Published,
    Archived,
}

impl PromptStatus {
    pub const ALL: [PromptStatus; 3] = [Self::Draft, Self::Published, Self::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Published => "Published",
            Self::Archived => "Archived",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| Invalid("Choose draft, published or archived.".into()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Visibility {
    Private,
    #[default]
    Organization,
    Public,
}

impl Visibility {
    pub const ALL: [Visibility; 3] = [Self::Private, Self::Organization, Self::Public];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Organization => "organization",
            Self::Public => "public",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Private => "Private (only me and admins)",
            Self::Organization => "Organization",
            Self::Public => "Public",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| Invalid("Choose private, organization or public.".into()))
    }
}

/// The predefined categories; organizations may use others.
pub const CATEGORIES: [&str; 4] = ["Marketing", "Engineering", "Sales", "Support"];

/// Colour and icon of the predefined categories, in the order of [`CATEGORIES`].
pub const CATEGORY_STYLES: [(&str, &str); 4] =
    [("#c2410c", "📣"), ("#1d4ed8", "🛠"), ("#15803d", "💼"), ("#7e22ce", "🛟")];

/// A collection's name: 1 to 80 characters, no slashes (paths are shown with them).
pub fn parse_collection_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid("Give the collection a name.".into()));
    }
    if name.chars().count() > 80 {
        return Err(Invalid("Keep the name under 80 characters.".into()));
    }
    if name.contains('/') {
        return Err(Invalid("A collection name cannot contain “/”.".into()));
    }
    Ok(name.to_owned())
}

/// A custom category: name, `#rrggbb` colour and a short icon (an emoji or up to 2 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryStyle {
    pub name: String,
    pub color: String,
    pub icon: String,
}

impl CategoryStyle {
    pub fn parse(name: &str, color: &str, icon: &str) -> Result<Self, FieldProblem> {
        let name = name.trim();
        if name.is_empty() {
            return Err(("name", "Give the category a name.".into()));
        }
        if name.chars().count() > 60 {
            return Err(("name", "Keep the category under 60 characters.".into()));
        }
        let color = color.trim().to_lowercase();
        let hex = color.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(("color", "Use a colour like #1d4ed8.".into()));
        }
        let icon = icon.trim();
        if icon.chars().count() > 4 || icon.len() > 16 {
            return Err(("icon", "Use one emoji or up to two letters.".into()));
        }
        Ok(Self { name: name.to_owned(), color, icon: icon.to_owned() })
    }
}

/// Model settings a prompt carries for the test panel and the API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelSettings {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub max_tokens: Option<i32>,
}

/// What someone typed for a prompt, as strings (forms) or JSON (the API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub body: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub category: String,
    /// Comma-separated in forms; the API sends a list joined by commas.
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub variables: Vec<VariableDef>,
    #[serde(default)]
    pub model: ModelSettings,
    #[serde(default)]
    pub change_note: String,
}

/// A prompt's content, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PromptFields {
    pub title: String,
    pub description: String,
    pub body: String,
    pub status: PromptStatus,
    pub visibility: Visibility,
    pub category: String,
    pub tags: Vec<String>,
    pub variables: Vec<VariableDef>,
    pub model: ModelSettings,
}

/// A rule broken by one field: (field name, message).
pub type FieldProblem = (&'static str, String);

impl PromptFields {
    /// The fields, or the first rule broken.
    pub fn parse(input: &PromptInput) -> Result<Self, FieldProblem> {
        Self::parse_all(input).map_err(|mut problems| problems.swap_remove(0))
    }

    /// The fields, or every rule broken (in field order), for imports that report them all.
    pub fn parse_all(input: &PromptInput) -> Result<Self, Vec<FieldProblem>> {
        let mut problems: Vec<FieldProblem> = Vec::new();
        let title = input.title.trim();
        if title.is_empty() {
            problems.push(("title", "Give the prompt a title.".into()));
        } else if title.chars().count() > 200 {
            problems.push(("title", "Keep the title under 200 characters.".into()));
        }
        let description = input.description.trim();
        if description.chars().count() > 2_000 {
            problems.push(("description", "Keep the description under 2,000 characters.".into()));
        }
        if input.body.trim().is_empty() {
            problems.push(("body", "Write the prompt's text.".into()));
        } else if input.body.len() > 100_000 {
            problems.push(("body", "The prompt is too long (100,000 characters at most).".into()));
        }
        let status = match &input.status {
            Some(s) if !s.trim().is_empty() => PromptStatus::parse(s).unwrap_or_else(|e| {
                problems.push(("status", e.0));
                PromptStatus::Draft
            }),
            _ => PromptStatus::Draft,
        };
        let visibility = match &input.visibility {
            Some(v) if !v.trim().is_empty() => Visibility::parse(v).unwrap_or_else(|e| {
                problems.push(("visibility", e.0));
                Visibility::Organization
            }),
            _ => Visibility::Organization,
        };
        let category = input.category.trim();
        if category.chars().count() > 60 {
            problems.push(("category", "Keep the category under 60 characters.".into()));
        }
        let tags = parse_tags(&input.tags).unwrap_or_else(|e| {
            problems.push(("tags", e.0));
            Vec::new()
        });
        let variables = reconcile(&input.body, &input.variables);
        if let Err(p) = check_definitions(&variables) {
            problems.push(("variables", format!("{}: {}", p.name, p.message)));
        }
        for (field, text) in [
            ("title", input.title.as_str()),
            ("description", input.description.as_str()),
            ("body", input.body.as_str()),
            ("category", input.category.as_str()),
            ("tags", input.tags.as_str()),
            ("model", input.model.model.as_str()),
            ("change_note", input.change_note.as_str()),
        ] {
            if text.contains('\0') {
                problems.push((field, "Text may not contain NUL characters.".into()));
            }
        }
        let model = &input.model;
        if model.model.chars().count() > 100 {
            problems.push(("model", "Keep the model name under 100 characters.".into()));
        }
        if let Some(t) = model.temperature
            && !(0.0..=2.0).contains(&t)
        {
            problems.push(("temperature", "Temperature goes from 0 to 2.".into()));
        }
        if let Some(m) = model.max_tokens
            && !(1..=1_000_000).contains(&m)
        {
            problems.push(("max_tokens", "Max tokens goes from 1 to 1,000,000.".into()));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            title: title.to_owned(),
            description: description.to_owned(),
            body: input.body.clone(),
            status,
            visibility,
            category: category.to_owned(),
            tags,
            variables,
            model: ModelSettings { model: model.model.trim().to_owned(), ..model.clone() },
        })
    }
}

impl PromptFields {
    /// The input that parses back to these fields: the base a partial update is merged onto.
    pub fn to_input(&self) -> PromptInput {
        PromptInput {
            title: self.title.clone(),
            description: self.description.clone(),
            body: self.body.clone(),
            status: Some(self.status.as_str().to_owned()),
            visibility: Some(self.visibility.as_str().to_owned()),
            category: self.category.clone(),
            tags: self.tags.join(","),
            variables: self.variables.clone(),
            model: self.model.clone(),
            change_note: String::new(),
        }
    }
}

/// Tags: comma separated, lower-cased, letters/digits/`-`/`_`, each up to 40 characters, at most 20.
pub fn parse_tags(raw: &str) -> Result<Vec<String>, Invalid> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw.split(',').map(|t| t.trim().trim_start_matches('#').to_lowercase()).filter(|t| !t.is_empty()) {
        if tag.chars().count() > 40 || !tag.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
            return Err(Invalid(format!("“{tag}” is not a tag: use letters, digits, - and _ (40 at most).")));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > 20 {
        return Err(Invalid("Twenty tags at most.".into()));
    }
    Ok(tags)
}

/// The label whose moves need an Admin.
pub const PROTECTED_LABEL: &str = "production";

/// A deployment label: lower-case letters, digits, `-` and `_`, up to 32 characters.
pub fn parse_label(raw: &str) -> Result<String, Invalid> {
    let label = raw.trim().to_lowercase();
    if label.is_empty() {
        return Err(Invalid("Name the label, e.g. production or staging.".into()));
    }
    if label.len() > 32 || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Invalid("Use lower-case letters, digits, - and _ (32 at most).".into()));
    }
    Ok(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str, body: &str) -> PromptInput {
        PromptInput { title: title.into(), body: body.into(), ..Default::default() }
    }

    #[test]
    fn parses_a_prompt_and_finds_its_variables() {
        let fields = PromptFields::parse(&PromptInput {
            tags: " Onboarding, #email,onboarding ".into(),
            ..input("  Welcome  ", "Hi {{name}}")
        })
        .unwrap();
        assert_eq!(fields.title, "Welcome");
        assert_eq!(fields.tags, ["onboarding", "email"]);
        assert_eq!(fields.variables[0].name, "name");
        assert_eq!(fields.status, PromptStatus::Draft);
    }

    #[test]
    fn names_the_field_at_fault() {
        assert_eq!(PromptFields::parse(&input(" ", "x")).unwrap_err().0, "title");
        assert_eq!(PromptFields::parse(&input("t", " ")).unwrap_err().0, "body");
        assert_eq!(PromptFields::parse(&input("t", "a\0b")).unwrap_err().0, "body");
        let bad_status = PromptInput { status: Some("live".into()), ..input("t", "b") };
        assert_eq!(PromptFields::parse(&bad_status).unwrap_err().0, "status");
        let bad_tag = PromptInput { tags: "ok, not ok".into(), ..input("t", "b") };
        assert_eq!(PromptFields::parse(&bad_tag).unwrap_err().0, "tags");
        let hot =
            PromptInput { model: ModelSettings { temperature: Some(3.0), ..Default::default() }, ..input("t", "b") };
        assert_eq!(PromptFields::parse(&hot).unwrap_err().0, "temperature");
    }

    #[test]
    fn reports_every_broken_rule_at_once() {
        let bad = PromptInput { status: Some("live".into()), tags: "not ok".into(), ..input(" ", " ") };
        let fields: Vec<&str> = PromptFields::parse_all(&bad).unwrap_err().iter().map(|p| p.0).collect();
        assert_eq!(fields, ["title", "body", "status", "tags"]);
    }

    #[test]
    fn labels() {
        assert_eq!(parse_label(" Staging ").unwrap(), "staging");
        assert!(parse_label("prod env").is_err());
        assert!(parse_label("").is_err());
    }

    #[test]
    fn collection_names_and_category_styles_are_checked() {
        assert_eq!(parse_collection_name("  Onboarding ").as_deref(), Ok("Onboarding"));
        assert!(parse_collection_name(" ").is_err());
        assert!(parse_collection_name("a/b").is_err());
        let style = CategoryStyle::parse("Coaching", "#1D4ED8", "🧭").expect("valid");
        assert_eq!(style.color, "#1d4ed8");
        assert_eq!(CategoryStyle::parse("Coaching", "blue", "").unwrap_err().0, "color");
        assert_eq!(CategoryStyle::parse("", "#000000", "").unwrap_err().0, "name");
        assert_eq!(CategoryStyle::parse("X", "#000000", "toolong").unwrap_err().0, "icon");
    }
}
