//! Importing prompts in bulk from Cairn's JSON export (`cairn.prompts/1`: versions, labels,
//! variables, tags, collections, categories) or from CSV (one prompt per row; `title` and
//! `content` columns, the others of the CSV export optional). Needs ImportData (Owner, Admin).
//!
//! Every import is planned first: the plan checks every prompt and lists every problem, and
//! nothing is written unless there are none. The writing is one transaction, so an import lands
//! whole or not at all. Imported prompts get new ids; collections are matched by path and
//! created when missing; versions keep their numbers, notes and times, and name the importer as
//! author.

use crate::dto::{ImportOutcome, ImportPreview};
use crate::error::AppError;
use leptos::server;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    Json,
    Csv,
}

impl ImportFormat {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The format a file's name suggests (`.json`, `.csv`).
    pub fn of_file(name: &str) -> Option<Self> {
        name.rsplit_once('.').and_then(|(_, ext)| Self::parse(ext))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

#[cfg(feature = "ssr")]
pub mod rules {
    use super::ImportFormat;
    use crate::api::prompts::library::Principal;
    use crate::api::webhooks::rules::{self as webhooks, PromptRef};
    use crate::domain::prompt::{
        CATEGORIES, CategoryStyle, ModelSettings, PromptFields, PromptInput, parse_collection_name, parse_label,
    };
    use crate::domain::template::VariableDef;
    use crate::domain::{Action, Resource};
    use crate::dto::{ImportOutcome, ImportPreview, ImportRow};
    use crate::error::AppError;
    use crate::ports::{
        CategoryRecord, CollectionRecord, ImportedComment, ImportedPrompt, LibraryImport, PromptVersionRecord, Services,
    };
    use chrono::{DateTime, Utc};
    use serde::Deserialize;
    use std::collections::{HashMap, HashSet};
    use uuid::Uuid;

    /// The largest file accepted, in bytes.
    pub const MAX_BYTES: usize = 20 * 1024 * 1024;
    /// The most prompts one import may hold.
    pub const MAX_PROMPTS: usize = 10_000;

    /// A checked import and what it would do.
    pub struct Plan {
        pub preview: ImportPreview,
        pub import: LibraryImport,
    }

    pub async fn preview(
        services: &Services,
        p: &Principal,
        format: ImportFormat,
        text: &str,
    ) -> Result<ImportPreview, AppError> {
        Ok(plan(services, p, format, text).await?.preview)
    }

    /// Imports the file if it has no problems at all; otherwise writes nothing.
    pub async fn import(
        services: &Services,
        p: &Principal,
        format: ImportFormat,
        text: &str,
    ) -> Result<ImportOutcome, AppError> {
        let Plan { preview, import } = plan(services, p, format, text).await?;
        let problems = preview.problem_count();
        if problems > 0 {
            let s = if problems == 1 { "" } else { "s" };
            return Err(AppError::validation(
                "file",
                format!("The file has {problems} problem{s}; nothing was imported. Preview it to see each one."),
            ));
        }
        if import.prompts.is_empty() {
            return Err(AppError::validation("file", "The file holds no prompts."));
        }
        let adding = import.prompts.len() as i64;
        crate::api::billing::rules::require_room(
            services,
            p.user,
            p.org,
            crate::domain::billing::Quota::Prompts,
            adding,
        )
        .await?;
        services.store.import_library(&import).await?;
        let outcome = ImportOutcome {
            prompts: preview.prompts,
            versions: preview.versions,
            collections: import.collections.len(),
            categories: import.categories.len(),
        };
        p.audit(
            services,
            "prompts.imported",
            format!("org:{}", p.org.0),
            None,
            Some(serde_json::json!({
                "format": format.as_str(),
                "prompts": outcome.prompts,
                "versions": outcome.versions,
                "collections": outcome.collections,
                "categories": outcome.categories,
            })),
        )
        .await?;
        let events = import.prompts.iter().map(|prompt| webhooks::PromptEvents {
            prompt: PromptRef::Saved(prompt.id),
            events: webhooks::save_events(true, prompt.fields.status),
            extra: serde_json::json!({ "imported": true }),
        });
        webhooks::prompt_events(services, p.org, events.collect()).await;
        Ok(outcome)
    }

    pub async fn plan(services: &Services, p: &Principal, format: ImportFormat, text: &str) -> Result<Plan, AppError> {
        p.require(Action::ImportData, &Resource::Org(p.org))?;
        let collections = super::super::organize::rules::tree(services.store.collections(p.org).await?);
        let categories = services.store.categories(p.org).await?;
        let mut builder = Builder {
            at: services.clock.now(),
            paths: collections.into_iter().map(|c| (c.path, c.id)).collect(),
            new_collections: Vec::new(),
            categories: categories.into_iter().map(|c| c.name.to_lowercase()).collect(),
            new_categories: Vec::new(),
            prompts: Vec::new(),
            preview: ImportPreview {
                file_problems: Vec::new(),
                rows: Vec::new(),
                first_titles: Vec::new(),
                prompts: 0,
                versions: 0,
                new_collections: Vec::new(),
                new_categories: Vec::new(),
            },
        };
        builder.categories.extend(CATEGORIES.iter().map(|c| c.to_lowercase()));
        if text.trim().is_empty() {
            builder.preview.file_problems.push("The file is empty.".into());
        } else if text.len() > MAX_BYTES {
            builder.preview.file_problems.push(format!("The file is over {} MB.", MAX_BYTES / 1024 / 1024));
        } else {
            match format {
                ImportFormat::Json => builder.json(text),
                ImportFormat::Csv => builder.csv(text),
            }
        }
        if builder.prompts.len() > MAX_PROMPTS {
            builder.preview.file_problems.push(format!("Import at most {MAX_PROMPTS} prompts at a time."));
        }
        Ok(builder.finish(p))
    }

    /// Collects the plan while reading a file.
    struct Builder {
        at: DateTime<Utc>,
        /// Collection path ("Clients / Onboarding") → id, existing and planned.
        paths: HashMap<String, Uuid>,
        new_collections: Vec<CollectionRecord>,
        /// Lower-cased names of the categories the organization has or will have.
        categories: HashSet<String>,
        new_categories: Vec<CategoryRecord>,
        prompts: Vec<ImportedPrompt>,
        preview: ImportPreview,
    }

    impl Builder {
        fn finish(mut self, p: &Principal) -> Plan {
            self.preview.prompts = self.prompts.len();
            self.preview.versions = self.prompts.iter().map(|p| p.versions.len()).sum();
            self.preview.first_titles = self.prompts.iter().take(20).map(|p| p.fields.title.clone()).collect();
            self.preview.new_collections = {
                let ids: HashSet<Uuid> = self.new_collections.iter().map(|c| c.id).collect();
                let mut paths: Vec<String> =
                    self.paths.iter().filter(|(_, id)| ids.contains(id)).map(|(path, _)| path.clone()).collect();
                paths.sort();
                paths
            };
            self.preview.new_categories = self.new_categories.iter().map(|c| c.name.clone()).collect();
            Plan {
                preview: self.preview,
                import: LibraryImport {
                    org: p.org,
                    author: p.user,
                    at: self.at,
                    collections: self.new_collections,
                    categories: self.new_categories,
                    prompts: self.prompts,
                },
            }
        }

        /// The collection at `names` (from the top), planning the missing ones.
        fn collection(&mut self, names: &[String]) -> Option<Uuid> {
            let mut parent = None;
            let mut path = String::new();
            for name in names {
                if !path.is_empty() {
                    path.push_str(" / ");
                }
                path.push_str(name);
                let id = match self.paths.get(&path) {
                    Some(id) => *id,
                    None => {
                        let record = CollectionRecord {
                            id: Uuid::now_v7(),
                            parent_id: parent,
                            name: name.clone(),
                            prompt_count: 0,
                            created_at: self.at,
                        };
                        let id = record.id;
                        self.paths.insert(path.clone(), id);
                        self.new_collections.push(record);
                        id
                    }
                };
                parent = Some(id);
            }
            parent
        }

        fn category(&mut self, style: CategoryStyle) {
            if self.categories.insert(style.name.to_lowercase()) {
                self.new_categories.push(CategoryRecord {
                    name: style.name,
                    color: style.color,
                    icon: style.icon,
                    created_at: self.at,
                });
            }
        }

        /// Records a prompt, or its problems.
        fn prompt(&mut self, place: String, title: &str, problems: Vec<String>, prompt: Option<ImportedPrompt>) {
            match prompt {
                Some(prompt) if problems.is_empty() => self.prompts.push(prompt),
                _ => self.preview.rows.push(ImportRow { place, title: title.trim().to_owned(), problems }),
            }
        }

        fn json(&mut self, text: &str) {
            let file: JsonFile = match serde_json::from_str(text) {
                Ok(file) => file,
                Err(e) => {
                    self.preview.file_problems.push(format!("This is not valid JSON: {e}."));
                    return;
                }
            };
            let (collections, categories, prompts) = match file {
                JsonFile::Export { format, collections, categories, prompts } => {
                    if format.as_deref().is_some_and(|f| f != super::super::export::JSON_FORMAT) {
                        self.preview.file_problems.push(format!(
                            "This file is in the format “{}”; Cairn reads “{}”.",
                            format.unwrap_or_default(),
                            super::super::export::JSON_FORMAT
                        ));
                        return;
                    }
                    (collections, categories, prompts)
                }
                JsonFile::Prompts(prompts) => (Vec::new(), Vec::new(), prompts),
            };
            for c in categories {
                match CategoryStyle::parse(&c.name, &c.color, &c.icon) {
                    Ok(style) => self.category(style),
                    Err((field, message)) => {
                        self.preview.file_problems.push(format!("Category “{}”, {field}: {message}", c.name))
                    }
                }
            }
            let folders = self.json_collections(collections);
            for (i, value) in prompts.into_iter().enumerate() {
                let place = format!("prompt {}", i + 1);
                let title = value.get("title").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
                match serde_json::from_value::<JsonPrompt>(value) {
                    Ok(prompt) => {
                        let (problems, planned) = self.json_prompt(prompt, &folders);
                        self.prompt(place, &title, problems, planned);
                    }
                    Err(e) => {
                        self.prompt(place, &title, vec![format!("Not a prompt of the export format: {e}.")], None)
                    }
                }
            }
        }

        /// The file's collections: their ids in the file → the ids they will have here.
        fn json_collections(&mut self, collections: Vec<JsonCollection>) -> HashMap<Uuid, Uuid> {
            let by_id: HashMap<Uuid, &JsonCollection> = collections.iter().map(|c| (c.id, c)).collect();
            let mut mapped = HashMap::new();
            'each: for c in &collections {
                let mut names = Vec::new();
                let mut at = Some(c);
                while let Some(folder) = at {
                    if names.len() > collections.len() {
                        self.preview.file_problems.push(format!("Collection “{}” is inside itself.", c.name));
                        continue 'each;
                    }
                    match parse_collection_name(&folder.name) {
                        Ok(name) => names.push(name),
                        Err(e) => {
                            self.preview.file_problems.push(format!("Collection “{}”: {}", folder.name, e.0));
                            continue 'each;
                        }
                    }
                    at = match folder.parent_id {
                        None => None,
                        Some(parent) => match by_id.get(&parent) {
                            Some(p) => Some(*p),
                            None => {
                                self.preview.file_problems.push(format!(
                                    "Collection “{}” is inside one the file does not have.",
                                    folder.name
                                ));
                                continue 'each;
                            }
                        },
                    };
                }
                names.reverse();
                if let Some(id) = self.collection(&names) {
                    mapped.insert(c.id, id);
                }
            }
            mapped
        }

        fn json_prompt(
            &mut self,
            prompt: JsonPrompt,
            folders: &HashMap<Uuid, Uuid>,
        ) -> (Vec<String>, Option<ImportedPrompt>) {
            let mut problems = Vec::new();
            let input = PromptInput {
                title: prompt.title.clone(),
                description: prompt.description.clone(),
                body: prompt.content.clone(),
                status: prompt.status.clone(),
                visibility: prompt.visibility.clone(),
                category: prompt.category.clone(),
                tags: prompt.tags.join(","),
                variables: prompt.variables.clone(),
                model: prompt.model.clone(),
                change_note: String::new(),
            };
            let fields = PromptFields::parse_all(&input)
                .map_err(|all| problems.extend(all.into_iter().map(|(f, m)| format!("{f}: {m}"))))
                .ok();
            let collection_id = match prompt.collection_id {
                None => None,
                Some(id) => {
                    let here = folders.get(&id).copied();
                    if here.is_none() {
                        problems.push("collection_id: not one of the file's collections.".into());
                    }
                    here
                }
            };
            let created_at = prompt.created_at.unwrap_or(self.at);
            let updated_at = prompt.updated_at.unwrap_or(created_at);
            let mut versions = Vec::new();
            for v in &prompt.versions {
                let last = versions.last().map_or(0, |l: &PromptVersionRecord| l.number);
                if v.number <= last {
                    problems.push(format!("version {}: versions must be numbered upwards from 1.", v.number));
                }
                let input = PromptInput {
                    title: v.title.clone(),
                    description: v.description.clone(),
                    body: v.content.clone(),
                    variables: v.variables.clone(),
                    model: v.model.clone(),
                    ..Default::default()
                };
                match PromptFields::parse_all(&input) {
                    Ok(f) => versions.push(PromptVersionRecord {
                        number: v.number,
                        title: f.title,
                        description: f.description,
                        body: f.body,
                        variables: f.variables,
                        model: f.model,
                        author_name: String::new(),
                        change_note: v.change_note.trim().chars().take(500).collect(),
                        created_at: v.created_at.unwrap_or(created_at),
                    }),
                    Err(all) => {
                        problems.extend(all.into_iter().map(|(f, m)| format!("version {}: {f}: {m}", v.number)))
                    }
                }
            }
            let numbers: Vec<i32> = match prompt.versions.is_empty() {
                true => vec![1],
                false => prompt.versions.iter().map(|v| v.number).collect(),
            };
            let mut labels = Vec::new();
            for l in &prompt.labels {
                match parse_label(&l.label) {
                    Err(e) => problems.push(format!("label “{}”: {}", l.label, e.0)),
                    Ok(label) if !numbers.contains(&l.version) => {
                        problems.push(format!("label {label}: there is no version {}.", l.version))
                    }
                    Ok(label) => labels.push((label, l.version)),
                }
            }
            let Some(fields) = fields else { return (problems, None) };
            if prompt.versions.is_empty() {
                versions.push(first_version(&fields, "Imported", created_at));
            }
            let comments = json_comments(&prompt.comments, created_at, &mut problems);
            let planned = ImportedPrompt {
                id: Uuid::now_v7(),
                fields,
                collection_id,
                created_at,
                updated_at,
                versions,
                labels,
                comments,
            };
            (problems, Some(planned))
        }

        fn csv(&mut self, text: &str) {
            let mut reader =
                csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::Headers).from_reader(text.as_bytes());
            let headers: Vec<String> = match reader.headers() {
                Ok(h) => h.iter().map(|h| h.trim_start_matches('\u{feff}').to_lowercase()).collect(),
                Err(e) => {
                    self.preview.file_problems.push(format!("The CSV cannot be read: {e}."));
                    return;
                }
            };
            let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
            let (Some(title_at), Some(content_at)) = (column(&["title"]), column(&["content", "body"])) else {
                self.preview
                    .file_problems
                    .push("The CSV needs a header row with “title” and “content” columns.".into());
                return;
            };
            let at = [
                column(&["description"]),
                column(&["status"]),
                column(&["visibility"]),
                column(&["category"]),
                column(&["tags"]),
                column(&["collection"]),
                column(&["model"]),
            ];
            for record in reader.records() {
                let record = match record {
                    Ok(r) => r,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        self.prompt(format!("line {line}"), "", vec![format!("This line cannot be read: {e}.")], None);
                        continue;
                    }
                };
                let line = record.position().map_or(0, |p| p.line());
                let cell = |i: Option<usize>| undefuse(i.and_then(|i| record.get(i)).unwrap_or_default());
                let mut problems = Vec::new();
                if record.len() != headers.len() {
                    problems.push(format!("This line has {} fields; the header has {}.", record.len(), headers.len()));
                }
                let [description, status, visibility, category, tags, collection, model] = at.map(cell);
                let input = PromptInput {
                    title: cell(Some(title_at)),
                    description,
                    body: cell(Some(content_at)),
                    status: Some(status),
                    visibility: Some(visibility),
                    category,
                    tags,
                    model: ModelSettings { model, ..Default::default() },
                    ..Default::default()
                };
                let mut names = Vec::new();
                for name in collection.split('/').filter(|n| !n.trim().is_empty()) {
                    match parse_collection_name(name) {
                        Ok(name) => names.push(name),
                        Err(e) => problems.push(format!("collection: {}", e.0)),
                    }
                }
                let fields = match PromptFields::parse_all(&input) {
                    Ok(f) => Some(f),
                    Err(all) => {
                        problems.extend(all.into_iter().map(|(f, m)| format!("{f}: {m}")));
                        None
                    }
                };
                let planned = match fields {
                    Some(fields) if problems.is_empty() => Some(ImportedPrompt {
                        id: Uuid::now_v7(),
                        collection_id: self.collection(&names),
                        created_at: self.at,
                        updated_at: self.at,
                        versions: vec![first_version(&fields, "Imported from CSV", self.at)],
                        labels: Vec::new(),
                        comments: Vec::new(),
                        fields,
                    }),
                    _ => None,
                };
                self.prompt(format!("line {line}"), &input.title, problems, planned);
            }
        }
    }

    /// A cell as it was before the CSV export defused a spreadsheet formula (`'=…` → `=…`).
    fn undefuse(cell: &str) -> String {
        match cell.strip_prefix('\'') {
            Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_owned(),
            _ => cell.to_owned(),
        }
    }

    fn first_version(fields: &PromptFields, note: &str, at: DateTime<Utc>) -> PromptVersionRecord {
        PromptVersionRecord {
            number: 1,
            title: fields.title.clone(),
            description: fields.description.clone(),
            body: fields.body.clone(),
            variables: fields.variables.clone(),
            model: fields.model.clone(),
            author_name: String::new(),
            change_note: note.into(),
            created_at: at,
        }
    }

    /// A JSON import: Cairn's export, or a bare list of prompts.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum JsonFile {
        Export {
            #[serde(default)]
            format: Option<String>,
            #[serde(default)]
            collections: Vec<JsonCollection>,
            #[serde(default)]
            categories: Vec<JsonCategory>,
            prompts: Vec<serde_json::Value>,
        },
        Prompts(Vec<serde_json::Value>),
    }

    #[derive(Deserialize)]
    struct JsonCollection {
        id: Uuid,
        #[serde(default)]
        parent_id: Option<Uuid>,
        name: String,
    }

    #[derive(Deserialize)]
    struct JsonCategory {
        name: String,
        color: String,
        #[serde(default)]
        icon: String,
    }

    #[derive(Deserialize)]
    struct JsonPrompt {
        #[serde(default)]
        title: String,
        #[serde(default)]
        description: String,
        #[serde(default)]
        content: String,
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        visibility: Option<String>,
        #[serde(default)]
        category: String,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        variables: Vec<VariableDef>,
        #[serde(default)]
        model: ModelSettings,
        #[serde(default)]
        collection_id: Option<Uuid>,
        #[serde(default)]
        created_at: Option<DateTime<Utc>>,
        #[serde(default)]
        updated_at: Option<DateTime<Utc>>,
        #[serde(default)]
        labels: Vec<JsonLabel>,
        #[serde(default)]
        versions: Vec<JsonVersion>,
        #[serde(default)]
        comments: Vec<JsonComment>,
    }

    #[derive(Deserialize)]
    struct JsonComment {
        #[serde(default)]
        id: Option<Uuid>,
        #[serde(default)]
        parent_id: Option<Uuid>,
        #[serde(default)]
        author: String,
        #[serde(default)]
        body: String,
        #[serde(default)]
        created_at: Option<DateTime<Utc>>,
        #[serde(default)]
        edited_at: Option<DateTime<Utc>>,
        #[serde(default)]
        deleted_at: Option<DateTime<Utc>>,
    }

    /// A prompt's comments from the file, with new ids; replies must answer a top-level comment
    /// of the same prompt. Problems go to `problems`.
    fn json_comments(
        comments: &[JsonComment],
        prompt_created: DateTime<Utc>,
        problems: &mut Vec<String>,
    ) -> Vec<ImportedComment> {
        use crate::domain::comment::parse_comment;
        // New ids in file order, so comments of the same moment keep their order.
        let new_ids: Vec<Uuid> = comments.iter().map(|_| Uuid::now_v7()).collect();
        let ids: HashMap<Uuid, Uuid> =
            comments.iter().zip(&new_ids).filter_map(|(c, new)| c.id.map(|old| (old, *new))).collect();
        let top: HashSet<Uuid> = comments.iter().filter(|c| c.parent_id.is_none()).filter_map(|c| c.id).collect();
        let mut planned = Vec::new();
        // Top-level comments first, so a reply's parent is written before it.
        let ordered = comments
            .iter()
            .enumerate()
            .filter(|(_, c)| c.parent_id.is_none())
            .chain(comments.iter().enumerate().filter(|(_, c)| c.parent_id.is_some()));
        for (i, c) in ordered {
            let place = format!("comment {}", i + 1);
            let deleted = c.deleted_at.is_some();
            let body = if deleted {
                String::new()
            } else {
                match parse_comment(&c.body) {
                    Ok(body) if !body.contains('\0') => body,
                    Ok(_) => {
                        problems.push(format!("{place}: text may not contain NUL characters."));
                        continue;
                    }
                    Err(e) => {
                        problems.push(format!("{place}: {}", e.0));
                        continue;
                    }
                }
            };
            let parent_id = match c.parent_id {
                None => None,
                Some(parent) if top.contains(&parent) => ids.get(&parent).copied(),
                Some(_) => {
                    problems
                        .push(format!("{place}: it answers a comment that is not a top-level comment of this prompt."));
                    continue;
                }
            };
            let id = new_ids[i];
            let author = c.author.trim();
            planned.push(ImportedComment {
                id,
                parent_id,
                author_name: if author.is_empty() { "Unknown".into() } else { author.chars().take(200).collect() },
                body,
                created_at: c.created_at.unwrap_or(prompt_created),
                edited_at: c.edited_at,
                deleted_at: c.deleted_at,
            });
        }
        planned
    }

    #[derive(Deserialize)]
    struct JsonVersion {
        number: i32,
        #[serde(default)]
        title: String,
        #[serde(default)]
        description: String,
        #[serde(default)]
        content: String,
        #[serde(default)]
        variables: Vec<VariableDef>,
        #[serde(default)]
        model: ModelSettings,
        #[serde(default)]
        change_note: String,
        #[serde(default)]
        created_at: Option<DateTime<Utc>>,
    }

    #[derive(Deserialize)]
    struct JsonLabel {
        label: String,
        version: i32,
    }
}

/// Checks a file and reports what importing it would do and every problem in it; writes nothing.
#[server(endpoint = "preview_import", input = Json)]
pub async fn preview_import(format: ImportFormat, text: String) -> Result<ImportPreview, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::preview(&services, &p, format, &text).await
    })
    .await
}

/// Imports a file with no problems, all of it in one transaction.
#[server(endpoint = "import_prompts", input = Json)]
pub async fn import_prompts(format: ImportFormat, text: String) -> Result<ImportOutcome, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::import(&services, &p, format, &text).await
    })
    .await
}
