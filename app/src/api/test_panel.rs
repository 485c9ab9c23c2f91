//! The test panel's server side: the organization's AI model, saved test cases, and what a
//! "Run" sends to the model. The streaming itself is the server's `POST /prompts/{id}/run`
//! (`server::http::run`), which calls [`rules::prepare_run`] for the permission check and the
//! rendered prompt.

use crate::dto::{AiModelView, TestCaseView};
use crate::error::AppError;
use leptos::server;
use server_fn::codec::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Test cases a prompt may have.
pub const MAX_CASES: usize = 50;

#[cfg(feature = "ssr")]
pub mod rules {
    use super::MAX_CASES;
    use crate::api::prompts::library::{Principal, render_version, visible};
    use crate::domain::model::{
        ChatMessage, check_case_values, parse_api_key, parse_base_url, parse_case_name, parse_model_name,
    };
    use crate::domain::template::VariableProblem;
    use crate::domain::webhook::is_obviously_private;
    use crate::domain::{Action, Resource};
    use crate::dto::{AiModelView, ModelSource, TestCaseView};
    use crate::error::{AppError, FieldResult};
    use crate::ports::{ModelEndpoint, OrgModelRecord, Services, TestCaseRecord};
    use std::collections::BTreeMap;
    use uuid::Uuid;

    /// The model an organization runs with: its own, else the instance's; and whether it is the
    /// organization's (whose address is checked before each call).
    pub async fn resolve(services: &Services, p: &Principal) -> Result<Option<(ModelEndpoint, ModelSource)>, AppError> {
        if let Some(own) = services.store.org_model(p.org).await? {
            return Ok(Some((own.endpoint, ModelSource::Organization)));
        }
        Ok(services.settings.default_model.clone().map(|m| (m, ModelSource::Instance)))
    }

    pub async fn view(services: &Services, p: &Principal) -> Result<AiModelView, AppError> {
        p.require(Action::ViewPrompts, &Resource::Org(p.org))?;
        let can_manage = p.may(Action::ManageAiModel, &Resource::Org(p.org));
        Ok(match resolve(services, p).await? {
            Some((endpoint, source)) => AiModelView {
                source,
                model: endpoint.model,
                base_url: if can_manage && source == ModelSource::Organization {
                    endpoint.base_url
                } else {
                    String::new()
                },
                has_key: endpoint.api_key.is_some(),
                can_manage,
            },
            None => AiModelView {
                source: ModelSource::None,
                model: String::new(),
                base_url: String::new(),
                has_key: false,
                can_manage,
            },
        })
    }

    /// Sets the organization's model. An empty `api_key` keeps the stored one unless `remove_key`.
    pub async fn save(
        services: &Services,
        p: &Principal,
        base_url: &str,
        model: &str,
        api_key: &str,
        remove_key: bool,
    ) -> Result<AiModelView, AppError> {
        p.require(Action::ManageAiModel, &Resource::Org(p.org))?;
        let base_url = parse_base_url(base_url).field("base_url")?;
        if !services.settings.webhook_allow_private && is_obviously_private(&base_url) {
            return Err(AppError::validation(
                "base_url",
                "This server does not call private addresses for organizations; its operator can set CAIRN_AI_BASE_URL instead.",
            ));
        }
        let model = parse_model_name(model).field("model")?;
        let typed_key = parse_api_key(api_key).field("api_key")?;
        let previous = services.store.org_model(p.org).await?;
        let api_key = match typed_key {
            Some(key) => Some(key),
            None if remove_key => None,
            None => previous.as_ref().and_then(|m| m.endpoint.api_key.clone()),
        };
        let record = OrgModelRecord {
            org_id: p.org,
            endpoint: ModelEndpoint { base_url: base_url.clone(), model: model.clone(), api_key },
            updated_by: p.user,
            updated_at: services.clock.now(),
        };
        services.store.set_org_model(&record).await?;
        let describe = |m: &ModelEndpoint| serde_json::json!({ "base_url": m.base_url, "model": m.model, "has_key": m.api_key.is_some() });
        p.audit(
            services,
            "ai_model.set",
            format!("org:{}", p.org.0),
            previous.as_ref().map(|m| describe(&m.endpoint)),
            Some(describe(&record.endpoint)),
        )
        .await?;
        view(services, p).await
    }

    pub async fn clear(services: &Services, p: &Principal) -> Result<AiModelView, AppError> {
        p.require(Action::ManageAiModel, &Resource::Org(p.org))?;
        services.store.clear_org_model(p.org).await?;
        p.audit(services, "ai_model.removed", format!("org:{}", p.org.0), None, None).await?;
        view(services, p).await
    }

    fn case_view(c: TestCaseRecord) -> TestCaseView {
        TestCaseView { id: c.id, name: c.name, values: c.values, updated_at: c.updated_at }
    }

    /// A prompt's test cases: whoever sees the prompt sees them.
    pub async fn cases(services: &Services, p: &Principal, prompt: Uuid) -> Result<Vec<TestCaseView>, AppError> {
        visible(services, p, prompt).await?;
        Ok(services.store.test_cases(p.org, prompt).await?.into_iter().map(case_view).collect())
    }

    /// Saves values under a name (replacing the case of that name). Needs: EditPrompt on the prompt.
    pub async fn save_case(
        services: &Services,
        p: &Principal,
        prompt: Uuid,
        name: &str,
        values: BTreeMap<String, String>,
    ) -> Result<TestCaseView, AppError> {
        let record = visible(services, p, prompt).await?;
        if !p.may_on(Action::EditPrompt, &record) {
            return Err(AppError::Forbidden);
        }
        let name = parse_case_name(name).field("name")?;
        check_case_values(&values).field("values")?;
        let existing = services.store.test_cases(p.org, prompt).await?;
        if existing.len() >= MAX_CASES && !existing.iter().any(|c| c.name == name) {
            return Err(AppError::validation("name", format!("A prompt keeps at most {MAX_CASES} test cases.")));
        }
        let now = services.clock.now();
        let saved = services
            .store
            .save_test_case(&TestCaseRecord {
                id: Uuid::now_v7(),
                org_id: p.org,
                prompt_id: prompt,
                name,
                values,
                created_by: p.user,
                created_at: now,
                updated_at: now,
            })
            .await?;
        Ok(case_view(saved))
    }

    pub async fn delete_case(services: &Services, p: &Principal, prompt: Uuid, id: Uuid) -> Result<(), AppError> {
        let record = visible(services, p, prompt).await?;
        if !p.may_on(Action::EditPrompt, &record) {
            return Err(AppError::Forbidden);
        }
        services.store.delete_test_case(p.org, prompt, id).await?;
        Ok(())
    }

    /// What one run sends: where, which model, which messages.
    #[derive(Debug, Clone)]
    pub struct RunPlan {
        pub endpoint: ModelEndpoint,
        /// The organization's own endpoint: its address is checked before calling it.
        pub untrusted: bool,
        pub messages: Vec<ChatMessage>,
        pub temperature: Option<f64>,
        pub max_tokens: Option<i32>,
    }

    /// Checks the principal may see the prompt, renders it (a use) and picks the model: the
    /// prompt's own model name if it has one, on the organization's endpoint. Variables that
    /// could not be filled come back as `Ok(Err(problems))`.
    pub async fn prepare_run(
        services: &Services,
        p: &Principal,
        prompt: Uuid,
        version: Option<i32>,
        values: &BTreeMap<String, String>,
    ) -> Result<Result<RunPlan, Vec<VariableProblem>>, AppError> {
        let Some((mut endpoint, source)) = resolve(services, p).await? else {
            // Seeing the prompt comes first: a stranger learns nothing about the organization.
            visible(services, p, prompt).await?;
            return Err(AppError::validation(
                "model",
                "No AI model is configured: an Owner or Admin sets one in Organization settings → AI model.",
            ));
        };
        let (text, settings) = match render_version(services, p, prompt, version, values).await? {
            (Ok(text), settings) => (text, settings),
            (Err(problems), _) => return Ok(Err(problems)),
        };
        // The organization's AI tokens this month (429 with the plan that allows more).
        crate::api::billing::rules::require_ai_tokens(services, p.user, p.org).await?;
        if !settings.model.trim().is_empty() {
            endpoint.model = settings.model.trim().to_owned();
        }
        Ok(Ok(RunPlan {
            endpoint,
            untrusted: source == ModelSource::Organization && !services.settings.webhook_allow_private,
            messages: vec![ChatMessage::user(text)],
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
        }))
    }
}

/// The model "Run" uses, and whether the caller may change it. Needs: ViewPrompts.
#[server(endpoint = "ai_model")]
pub async fn ai_model() -> Result<AiModelView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::view(&services, &p).await
    })
    .await
}

/// Sets the organization's model. Needs: ManageAiModel (Owner, Admin).
#[server(endpoint = "save_ai_model")]
pub async fn save_ai_model(
    base_url: String,
    model: String,
    #[server(default)] api_key: String,
    #[server(default)] remove_key: Option<String>,
) -> Result<AiModelView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::save(&services, &p, &base_url, &model, &api_key, remove_key.is_some()).await
    })
    .await
}

/// Removes the organization's model (the instance's default, if any, applies again).
#[server(endpoint = "clear_ai_model")]
pub async fn clear_ai_model() -> Result<AiModelView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::clear(&services, &p).await
    })
    .await
}

/// A prompt's saved test cases. Needs: seeing the prompt.
#[server(endpoint = "prompt_test_cases", input = Json)]
pub async fn prompt_test_cases(prompt_id: Uuid) -> Result<Vec<TestCaseView>, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::cases(&services, &p, prompt_id).await
    })
    .await
}

/// Saves the values as a named test case. Needs: EditPrompt on the prompt.
#[server(endpoint = "save_test_case", input = Json)]
pub async fn save_test_case(
    prompt_id: Uuid,
    name: String,
    values: BTreeMap<String, String>,
) -> Result<TestCaseView, AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::save_case(&services, &p, prompt_id, &name, values).await
    })
    .await
}

/// Deletes a test case. Needs: EditPrompt on the prompt.
#[server(endpoint = "delete_test_case", input = Json)]
pub async fn delete_test_case(prompt_id: Uuid, id: Uuid) -> Result<(), AppError> {
    super::respond(async move {
        let (services, p) = super::prompts::principal().await?;
        rules::delete_case(&services, &p, prompt_id, id).await
    })
    .await
}
