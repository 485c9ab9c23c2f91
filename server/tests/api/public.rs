//! Public prompts: readable by anyone with the link while public and published; nothing else is.

use crate::support::TestApp;
use app::dto::PublicPromptView;
use serde_json::json;

// Multi-threaded like the server: it fetches a server-rendered page (see searches.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_public_published_prompts_open_for_anyone() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let create = |visibility: &'static str, status: &'static str| {
        let input = json!({ "title": format!("{visibility} {status}"), "body": "Ask **{{name}}** one question.",
            "visibility": visibility, "status": status, "tags": "coaching" });
        owner.call_json::<uuid::Uuid>("create_prompt", json!({ "input": input }))
    };
    let public = create("public", "published").await.expect("prompt");
    let draft = create("public", "draft").await.expect("prompt");
    let members_only = create("organization", "published").await.expect("prompt");
    let private = create("private", "published").await.expect("prompt");

    let guest = app.client();
    let seen: PublicPromptView = guest.call_json("public_prompt", json!({ "id": public })).await.expect("public");
    assert_eq!((seen.title.as_str(), seen.author_name.as_str()), ("public published", "Olivia"));
    assert!(seen.html.contains("<strong>{{name}}</strong>"), "{}", seen.html);
    assert_eq!(seen.variables[0].name, "name");
    for hidden in [draft, members_only, private, uuid::Uuid::now_v7()] {
        let refused = guest.call_json::<PublicPromptView>("public_prompt", json!({ "id": hidden })).await;
        assert_eq!(refused.unwrap_err().status, 404, "{hidden}");
    }
    // Reading it counts a view (written with the others once a second).
    let services = &app.state.services;
    services.prompt_counts.flush(services.store.as_ref()).await.expect("flush");
    let detail: app::dto::PromptDetail = owner.call_json("prompt", json!({ "id": public })).await.expect("detail");
    assert_eq!(detail.view_count, 2);
    // The page renders for a guest.
    let page = guest.get(&format!("/p/{public}")).await;
    assert_eq!(page.status(), 200);
}

/// Pages render on their own thread and stream from there (server/src/http/render.rs); a browser
/// asks for them compressed, and the compressor reads the body to its end and once more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_compressed_for_a_browser_arrives_whole() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().expect("client");
    for _ in 0..3 {
        let page = http
            .get(format!("{}/sign-in", app.address))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("the page");
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["content-encoding"], "gzip");
        let body = page.bytes().await.expect("the whole page");
        assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip");
    }
}
