//! The OpenAPI 3.1 description of `/api/v1`, generated from the handlers and types
//! (`#[utoipa::path]`, `ToSchema`), served at `/api/v1/openapi.json` and as a reference page
//! at `/api/v1/docs`.

use super::api_v1;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::LazyLock;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cairn API",
        description = "The prompt library of one organization, for scripts and other services.\n\n\
            Authenticate with an organization API key (API keys, in the main menu of Owners and Admins): \
            `Authorization: Bearer cairn_…`. A key acts with its creator's role; a read key as a Viewer.\n\n\
            Each key may make a number of requests per hour (1,000 unless the operator sets another); every \
            answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and a request over \
            the limit is answered `429` with `Retry-After`. The organization's plan also allows a number of \
            requests a day (UTC) with all its keys; past it requests are answered `429` `quota_exhausted`, \
            naming the plan that allows more.\n\n\
            Errors are JSON with a stable `code`, a `message` and, for invalid input, the `field`.",
    ),
    paths(
        api_v1::list, api_v1::create, api_v1::fetch, api_v1::update, api_v1::patch, api_v1::remove,
        api_v1::render, api_v1::versions, api_v1::version, api_v1::by_label, api_v1::set_label,
        api_v1::remove_label, api_v1::collections, api_v1::create_collection, api_v1::update_collection,
        api_v1::delete_collection, api_v1::tags, api_v1::categories, api_v1::export, api_v1::import,
        api_v1::event,
    ),
    modifiers(&Security),
    security(("api_key" = [])),
    tags(
        (name = "prompts", description = "Prompts: list, search, read, write, render."),
        (name = "versions", description = "Immutable versions and the deployment labels pointing at them."),
        (name = "organizing", description = "Collections, tags and categories."),
        (name = "import and export", description = "The library as JSON, CSV or Markdown files."),
        (name = "sequences", description = "Events that running sequences wait for."),
    )
)]
pub struct ApiDoc;

/// The bearer scheme, and the answers every operation may give: no or a bad key (401), over the
/// rate limit (429).
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An organization API key, `cairn_…`."))
                    .build(),
            ),
        );
        let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
                .into()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                let responses = &mut op.responses.responses;
                responses
                    .entry("401".into())
                    .or_insert_with(|| error("No API key, or one that is not valid, revoked or expired."));
                responses.entry("429".into()).or_insert_with(|| {
                    error(
                        "Over the key's hourly limit (`rate_limited`; see `Retry-After`), or the organization's \
                             plan's daily request quota (`quota_exhausted`, with the plan that allows more).",
                    )
                });
            }
        }
    }
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default());

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], DOCUMENT.as_str()).into_response()
}

static PAGE: LazyLock<String> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(&DOCUMENT).unwrap_or(Value::Null);
    reference_page(&doc)
});

/// `GET /api/v1/docs`: the document as a page to read.
pub async fn docs() -> Html<&'static str> {
    Html(PAGE.as_str())
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Plain text with `code` spans and paragraphs.
fn prose(text: &str) -> String {
    text.split("\n\n")
        .map(|para| {
            let mut html = String::new();
            for (i, part) in esc(para.trim()).split('`').enumerate() {
                if i % 2 == 1 {
                    let _ = write!(html, "<code>{part}</code>");
                } else {
                    html.push_str(part);
                }
            }
            format!("<p>{html}</p>")
        })
        .collect()
}

/// A schema in one line: `string`, `PromptPage`, `array of TagCount`, `integer or null`.
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            return options.iter().map(type_of).collect::<Vec<_>>().join(" or ");
        }
    }
    let kinds: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => vec!["any".into()],
    };
    kinds
        .iter()
        .map(|kind| match kind.as_str() {
            "array" => format!("array of {}", schema.get("items").map(type_of).unwrap_or_else(|| "any".into())),
            other => {
                let mut text = esc(other);
                if let Some(format) = schema.get("format").and_then(Value::as_str) {
                    let _ = write!(text, " ({})", esc(format));
                }
                if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                    let values: Vec<String> =
                        values.iter().map(|v| format!("<code>{}</code>", esc(&v.to_string()))).collect();
                    let _ = write!(text, ": {}", values.join(", "));
                }
                text
            }
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn body_types(content: Option<&Value>) -> String {
    content
        .and_then(Value::as_object)
        .map(|types| {
            types
                .iter()
                .map(|(mime, media)| {
                    let schema = media.get("schema").map(type_of).unwrap_or_else(|| "any".into());
                    format!("<code>{}</code>: {schema}", esc(mime))
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

fn anchor(method: &str, path: &str) -> String {
    let mut id = format!("op-{method}");
    for c in path.chars() {
        id.push(if c.is_ascii_alphanumeric() { c } else { '-' });
    }
    id
}

fn reference_page(doc: &Value) -> String {
    let title = doc.pointer("/info/title").and_then(Value::as_str).unwrap_or("API");
    let version = doc.pointer("/info/version").and_then(Value::as_str).unwrap_or("");
    let intro = doc.pointer("/info/description").and_then(Value::as_str).unwrap_or("");
    let mut operations: Vec<(String, &str, &str, &Value)> = Vec::new(); // (tag, method, path, op)
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(op) = item.get(method) {
                    let tag = op.pointer("/tags/0").and_then(Value::as_str).unwrap_or("other").to_owned();
                    operations.push((tag, method, path, op));
                }
            }
        }
    }
    let tags: Vec<(&str, &str)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .map(|t| {
                    (
                        t.get("name").and_then(Value::as_str).unwrap_or(""),
                        t.get("description").and_then(Value::as_str).unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();

    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} reference</title><link rel=\"stylesheet\" href=\"/pkg/cairn.css\"></head>\
         <body><main id=\"main\" class=\"page api-docs\"><h1>{t} <small>{v}</small></h1>{intro}\
         <p>The machine-readable document: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI 3.1). \
         Keys are made under <a href=\"/org/api-keys\">API keys</a>.</p>",
        t = esc(title),
        v = esc(version),
        intro = prose(intro),
    );
    html.push_str("<nav aria-label=\"Operations\"><h2>Operations</h2>");
    for (tag, _) in &tags {
        let _ = write!(html, "<h3>{}</h3><ul>", esc(tag));
        for (t, method, path, op) in &operations {
            if t == tag {
                let summary = op.get("summary").and_then(Value::as_str).unwrap_or("");
                let _ = write!(
                    html,
                    "<li><a href=\"#{}\"><code>{} {}</code></a> {}</li>",
                    anchor(method, path),
                    method.to_uppercase(),
                    esc(path),
                    esc(summary)
                );
            }
        }
        html.push_str("</ul>");
    }
    html.push_str("<p><a href=\"#schemas\">Schemas</a></p></nav>");

    for (tag, description) in &tags {
        let _ = write!(html, "<section><h2>{}</h2><p>{}</p>", esc(tag), esc(description));
        for (t, method, path, op) in &operations {
            if t != tag {
                continue;
            }
            let _ = write!(
                html,
                "<article class=\"card\" id=\"{}\"><h3><code>{} {}</code></h3>",
                anchor(method, path),
                method.to_uppercase(),
                esc(path)
            );
            if let Some(summary) = op.get("summary").and_then(Value::as_str) {
                html.push_str(&prose(summary));
            }
            if let Some(description) = op.get("description").and_then(Value::as_str) {
                html.push_str(&prose(description));
            }
            if let Some(params) = op.get("parameters").and_then(Value::as_array).filter(|p| !p.is_empty()) {
                html.push_str(
                    "<div class=\"table-scroll\"><table><caption>Parameters</caption><thead><tr><th scope=\"col\">Name</th>\
                     <th scope=\"col\">In</th><th scope=\"col\">Type</th><th scope=\"col\">Description</th></tr></thead><tbody>",
                );
                for p in params {
                    let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(p.get("name").and_then(Value::as_str).unwrap_or("")),
                        if required { " (required)" } else { "" },
                        esc(p.get("in").and_then(Value::as_str).unwrap_or("")),
                        p.get("schema").map(type_of).unwrap_or_default(),
                        esc(p.get("description").and_then(Value::as_str).unwrap_or("")),
                    );
                }
                html.push_str("</tbody></table></div>");
            }
            if let Some(body) = op.get("requestBody") {
                let _ = write!(html, "<p><strong>Body</strong> {}</p>", body_types(body.get("content")));
            }
            html.push_str("<div class=\"table-scroll\"><table><caption>Answers</caption><thead><tr><th scope=\"col\">Status</th><th scope=\"col\">Meaning</th><th scope=\"col\">Body</th></tr></thead><tbody>");
            if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                for (status, response) in responses {
                    let _ = write!(
                        html,
                        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(status),
                        esc(response.get("description").and_then(Value::as_str).unwrap_or("")),
                        body_types(response.get("content")),
                    );
                }
            }
            html.push_str("</tbody></table></div></article>");
        }
        html.push_str("</section>");
    }

    html.push_str("<section id=\"schemas\"><h2>Schemas</h2>");
    if let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object) {
        for (name, schema) in schemas {
            let _ = write!(html, "<article class=\"card\" id=\"schema-{0}\"><h3>{0}</h3>", esc(name));
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                html.push_str(&prose(description));
            }
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                html.push_str(
                    "<div class=\"table-scroll\"><table><thead><tr><th scope=\"col\">Field</th><th scope=\"col\">Type</th>\
                     <th scope=\"col\">Description</th></tr></thead><tbody>",
                );
                for (field, prop) in props {
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(field),
                        if required.contains(&field.as_str()) { " (required)" } else { "" },
                        type_of(prop),
                        esc(prop.get("description").and_then(Value::as_str).unwrap_or("")),
                    );
                }
                html.push_str("</tbody></table></div>");
            } else {
                let _ = write!(html, "<p>{}</p>", type_of(schema));
            }
            html.push_str("</article>");
        }
    }
    html.push_str("</section></main></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_describes_every_route() {
        let doc: Value = serde_json::from_str(&DOCUMENT).expect("json");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
        for path in [
            "/api/v1/prompts",
            "/api/v1/prompts/{id}",
            "/api/v1/prompts/{id}/versions",
            "/api/v1/prompts/{id}/versions/{number}",
            "/api/v1/prompts/{id}/labels/{label}",
            "/api/v1/prompts/{id}/render",
            "/api/v1/collections",
            "/api/v1/collections/{id}",
            "/api/v1/tags",
            "/api/v1/categories",
            "/api/v1/export",
            "/api/v1/import",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is not described");
        }
        // Every operation says what a bad key and the rate limit answer.
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("item").values() {
                assert!(op["responses"].get("401").is_some() && op["responses"].get("429").is_some());
            }
        }
        for schema in ["PromptPage", "PromptDetail", "VersionView", "ErrorBody", "VariableDef"] {
            assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema} missing");
        }
    }

    #[test]
    fn the_reference_page_lists_operations_and_escapes_text() {
        assert!(PAGE.contains("<code>GET /api/v1/prompts</code>"));
        assert!(PAGE.contains("id=\"schema-PromptDetail\""));
        assert_eq!(esc("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
        assert_eq!(prose("use `q`"), "<p>use <code>q</code></p>");
    }
}
