//! The prompt library through its server functions: versions, diff, revert, labels, search,
//! visibility, rendering, and the Owner/Admin/Editor/Viewer rules.

use crate::orgs::{create_org, join};
use crate::support::{Client, TestApp};
use app::dto::{DiffKind, DiffView, PromptDetail, PromptPage, RenderOutcome, VersionView};
use app::error::AppError;
use serde_json::json;
use uuid::Uuid;

async fn save(client: &Client, id: Uuid, base: i32, title: &str, body: &str, note: &str) -> i32 {
    let input = json!({ "title": title, "body": body, "change_note": note });
    client.call_json("update_prompt", json!({ "id": id, "base_version": base, "input": input })).await.expect("save")
}

async fn detail(client: &Client, id: Uuid) -> PromptDetail {
    client.call_json("prompt", json!({ "id": id })).await.expect("prompt")
}

async fn search(client: &Client, params: serde_json::Value) -> PromptPage {
    client.call_json("prompts", json!({ "params": params })).await.expect("search")
}

/// The page's titles in alphabetical order, for what a search finds whatever its ranking.
fn sorted_titles(page: PromptPage) -> Vec<String> {
    let mut titles: Vec<String> = page.items.into_iter().map(|p| p.title).collect();
    titles.sort();
    titles
}

/// Olivia, signed up, with the two prompts the tests of other instances' changes start from:
/// "Zebra crossing", the only one about zebras, and "Horses" (its ids in that order).
async fn zebra_crossing_and_horses(app: &TestApp) -> (Client, Uuid, Uuid) {
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let crossing = owner.create_prompt("Zebra crossing", "Cross where the zebra is.").await.expect("create");
    let herd = owner.create_prompt("Horses", "A herd of horses.").await.expect("create");
    (owner, crossing, herd)
}

/// A second instance on the test's database (a second connection of the test's own, as a second
/// server holds), writing to `owner`'s first organization as `owner`.
struct Elsewhere {
    db: server::db::Db,
    org: app::domain::OrgId,
    user: app::domain::UserId,
}

impl Elsewhere {
    async fn open(app: &TestApp, owner: &Client) -> Self {
        let db = server::db::Db::connect(&app.state.config.database_url).await.expect("a second instance");
        let user = owner.me().await.expect("me").user_id;
        let org = app.state.services.store.memberships_of(user).await.expect("memberships")[0].org.id;
        Elsewhere { db, org, user }
    }

    /// Saves a new version of prompt `id` with this title and body.
    async fn save(&self, id: Uuid, title: &str, body: &str) {
        use app::ports::{PromptSave, PromptStore};
        let record = self.db.prompt(self.org, id).await.expect("read").expect("there");
        let fields = app::domain::prompt::PromptFields { title: title.into(), body: body.into(), ..record.fields };
        let save = PromptSave {
            org: self.org,
            id,
            author: self.user,
            fields: &fields,
            change_note: "",
            at: chrono::Utc::now(),
            base_version: Some(record.version),
        };
        self.db.save_prompt(&save).await.expect("saved by the other instance");
    }

    async fn delete(&self, id: Uuid) {
        use app::ports::PromptStore;
        self.db.delete_prompt(self.org, id).await.expect("deleted by the other instance");
    }
}

#[tokio::test]
async fn versions_diff_revert_and_labels() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;

    let id = editor.create_prompt("Welcome", "Hello {{name}}.\nWelcome aboard.").await.expect("create");
    assert_eq!(save(&editor, id, 1, "Welcome", "Hello {{name}}.\nWelcome aboard!\nSee you soon.", "Warmer").await, 2);
    assert_eq!(save(&editor, id, 2, "Welcome", "Hi {{name}}.\nWelcome aboard!\nSee you soon.", "Shorter").await, 3);

    // A save from a stale version is refused, not silently merged.
    let stale = editor
        .call_json::<i32>(
            "update_prompt",
            json!({ "id": id, "base_version": 2, "input": { "title": "T", "body": "B" } }),
        )
        .await
        .unwrap_err();
    assert_eq!(stale.status, 409);

    let versions: Vec<VersionView> = editor.call_json("prompt_versions", json!({ "id": id })).await.expect("versions");
    assert_eq!(versions.iter().map(|v| v.number).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(versions[0].change_note, "Shorter");
    assert_eq!(versions[2].body, "Hello {{name}}.\nWelcome aboard.", "old versions are kept as they were");

    let diff: DiffView = editor.call_json("prompt_diff", json!({ "id": id, "from": 1, "to": 3 })).await.expect("diff");
    assert_eq!((diff.added, diff.removed), (3, 2));
    let added: Vec<String> = diff
        .lines
        .iter()
        .filter(|l| l.kind == DiffKind::Added)
        .flat_map(|l| l.parts.iter().filter(|(k, _)| *k == DiffKind::Added).map(|(_, t)| t.clone()))
        .collect();
    assert!(added.iter().any(|t| t.contains("Hi")), "word-level change inside the line: {added:?}");

    // Revert makes a new version with the old content.
    let reverted: i32 = editor.call_json("revert_prompt", json!({ "id": id, "version": 1 })).await.expect("revert");
    assert_eq!(reverted, 4);
    let now = detail(&editor, id).await;
    assert_eq!((now.version, now.fields.body.as_str()), (4, "Hello {{name}}.\nWelcome aboard."));

    // Labels: the editor may set staging but not production; the owner may.
    editor
        .call_json::<()>("set_prompt_label", json!({ "id": id, "label": "staging", "version": 3 }))
        .await
        .expect("staging");
    let refused = editor
        .call_json::<()>("set_prompt_label", json!({ "id": id, "label": "production", "version": 3 }))
        .await
        .unwrap_err();
    assert_eq!(refused.status, 422);
    assert!(matches!(&refused.error, AppError::Validation { field, .. } if field == "label"));
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    owner
        .call_json::<()>("set_prompt_label", json!({ "id": id, "label": "Production", "version": 2 }))
        .await
        .expect("owner moves production");
    let missing = owner
        .call_json::<()>("set_prompt_label", json!({ "id": id, "label": "production", "version": 99 }))
        .await
        .unwrap_err();
    assert!(matches!(&missing.error, AppError::Validation { field, .. } if field == "version"));
    let labels = detail(&editor, id).await.labels;
    let pairs: Vec<(&str, i32)> = labels.iter().map(|l| (l.label.as_str(), l.version)).collect();
    assert_eq!(pairs, [("production", 2), ("staging", 3)]);

    // Every change is in the audit log.
    let log: Vec<app::dto::AuditEntryView> =
        owner.call("audit_log", &[("org_id", &org.id.to_string())]).await.expect("audit");
    for action in ["prompt.created", "prompt.updated", "prompt.reverted", "prompt.label_moved"] {
        assert!(log.iter().any(|e| e.action == action), "{action} in the audit log");
    }
}

#[tokio::test]
async fn search_ranks_highlights_filters_and_forgives_typos() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    for (title, body, tags) in [
        ("Cold email opener", "Write a cold email to {{name}} about our product.", "sales, email"),
        ("Support reply", "Reply kindly to a support ticket. Mention the email address we have on file.", "support"),
        ("Release notes", "Summarise the release for engineers. No marketing words.", "engineering"),
        ("Prompt engineering tips", "How to write a good prompt for any model.", "engineering"),
    ] {
        let input = json!({ "title": title, "body": body, "tags": tags, "status": "published" });
        owner.call_json::<Uuid>("create_prompt", json!({ "input": input })).await.expect("create");
    }

    let page = search(&owner, json!({ "q": "email" })).await;
    let titles: Vec<&str> = page.items.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Cold email opener", "Support reply"], "title matches rank first");
    assert!(page.items[0].title_marks.iter().any(|m| m.hit && m.text == "email"));
    assert!(page.items[1].snippet.iter().any(|m| m.hit && m.text == "email"), "{:?}", page.items[1].snippet);

    let phrase = search(&owner, json!({ "q": "\"cold email\"" })).await;
    assert_eq!(phrase.items.len(), 1);
    let or = search(&owner, json!({ "q": "ticket OR release" })).await;
    assert_eq!(or.items.len(), 2);
    let not = search(&owner, json!({ "q": "email -cold" })).await;
    assert_eq!(not.items.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(), ["Support reply"]);

    let typo = search(&owner, json!({ "q": "promt" })).await;
    assert_eq!(typo.items.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(), ["Prompt engineering tips"]);
    assert_eq!(typo.widened, vec![("promt".to_owned(), vec!["prompt".to_owned()])]);

    let tagged = search(&owner, json!({ "tags": "engineering" })).await;
    assert_eq!(tagged.items.len(), 2);
    let both = search(&owner, json!({ "tags": "sales, email", "all_tags": true })).await;
    assert_eq!(both.items.len(), 1);
    let paged = search(&owner, json!({ "limit": 3, "sort": "created" })).await;
    assert_eq!(paged.items.len(), 3);
    let rest =
        search(&owner, json!({ "limit": 3, "sort": "created", "cursor": paged.next_cursor.expect("more") })).await;
    assert_eq!((rest.items.len(), rest.next_cursor), (1, None));

    let bad = owner.call_json::<PromptPage>("prompts", json!({ "params": { "sort": "random" } })).await.unwrap_err();
    assert!(matches!(&bad.error, AppError::Validation { field, .. } if field == "sort"));
    let only_not =
        owner.call_json::<PromptPage>("prompts", json!({ "params": { "q": "NOT email" } })).await.unwrap_err();
    assert!(matches!(&only_not.error, AppError::Validation { field, .. } if field == "q"));
}

/// A search of several words finds the prompts that hold a word of each group (among prompts of
/// which most hold only one) and ranks a prompt with both words in its title first. Pages follow
/// each other.
#[tokio::test]
async fn a_search_of_several_words_finds_prompts_that_hold_each_group() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    for i in 0..40 {
        owner.create_prompt(&format!("Draft {i}"), "An alpha prompt among many.").await.expect("create");
    }
    for (title, body) in [
        ("Beta alpha", "Both words, in the title."),
        ("Gamma", "Alpha and beta, in the body."),
        ("Beta only", "Nothing else."),
        ("Gamma delta", "An alpha delta."),
    ] {
        owner.create_prompt(title, body).await.expect("create");
    }
    let titles = |page: PromptPage| page.items.into_iter().map(|p| p.title).collect::<Vec<_>>();
    assert_eq!(titles(search(&owner, json!({ "q": "alpha beta" })).await), ["Beta alpha", "Gamma"]);
    assert_eq!(titles(search(&owner, json!({ "q": "beta alpha" })).await), ["Beta alpha", "Gamma"]);
    assert_eq!(
        sorted_titles(search(&owner, json!({ "q": "alpha beta OR delta" })).await),
        ["Beta alpha", "Gamma", "Gamma delta"]
    );
    assert_eq!(titles(search(&owner, json!({ "q": "alpha beta -title" })).await), ["Gamma"]);
    assert!(search(&owner, json!({ "q": "alpha beta nowhere" })).await.items.is_empty());
    let first = search(&owner, json!({ "q": "alpha beta", "limit": 1 })).await;
    let cursor = first.next_cursor.clone().expect("a second page");
    assert_eq!(titles(first), ["Beta alpha"]);
    let second = search(&owner, json!({ "q": "alpha beta", "limit": 1, "cursor": cursor })).await;
    assert_eq!((titles(second.clone()), second.next_cursor), (vec!["Gamma".to_owned()], None));
}

/// A tag filter matches whole tags: not one that merely starts with it, and `_` (allowed in tags)
/// is a character, not a wildcard. Any tag or all of them, alone and within a search.
#[tokio::test]
async fn tag_filters_match_whole_tags() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    for (title, tags) in [
        ("Underscore", "team_a"),
        ("Lookalike", "teamxa"),
        ("Sales", "sales"),
        ("Sales ops", "sales-ops"),
        ("Sales email", "email, sales"),
        ("Email", "email, team_a"),
    ] {
        let input = json!({ "title": title, "body": "A plain prompt.", "tags": tags, "status": "published" });
        owner.call_json::<Uuid>("create_prompt", json!({ "input": input })).await.expect("create");
    }
    assert_eq!(sorted_titles(search(&owner, json!({ "tags": "team_a" })).await), ["Email", "Underscore"]);
    assert_eq!(sorted_titles(search(&owner, json!({ "tags": "sales" })).await), ["Sales", "Sales email"]);
    assert_eq!(
        sorted_titles(search(&owner, json!({ "tags": "sales, team_a" })).await),
        ["Email", "Sales", "Sales email", "Underscore"]
    );
    assert_eq!(sorted_titles(search(&owner, json!({ "tags": "email, team_a", "all_tags": true })).await), ["Email"]);
    assert_eq!(
        sorted_titles(search(&owner, json!({ "tags": "sales, team_a", "all_tags": true })).await),
        Vec::<String>::new()
    );
    assert_eq!(sorted_titles(search(&owner, json!({ "q": "plain", "tags": "email" })).await), ["Email", "Sales email"]);
}

/// PostgreSQL remembers the best matches of a search with a phrase that comes again (searches of
/// words alone are ranked in memory instead). Another instance's change to the organization's
/// prompts (here, a statement of the test's own, which this instance does not
/// see made) shows in the next search, not once the memo expires. SQLite runs one instance per
/// database.
#[tokio::test]
async fn remembered_matches_see_another_instances_changes() {
    let app = TestApp::spawn().await;
    let server::db::Db::Postgres(server::db::Backend { pool, .. }) = &app.state.db else { return };
    let (owner, crossing, herd) = zebra_crossing_and_horses(&app).await;
    let zebra = || async { sorted_titles(search(&owner, json!({ "q": "\"the zebra\"" })).await) };
    // New, seen again (its matches read and remembered), then served from what is remembered.
    for _ in 0..3 {
        assert_eq!(zebra().await, ["Zebra crossing"]);
    }
    // Filters that leave none of the remembered matches: an empty page, not an out-of-date one.
    for _ in 0..3 {
        assert!(search(&owner, json!({ "q": "\"the zebra\"", "tags": "unused" })).await.items.is_empty());
    }
    let elsewhere = |id: Uuid, title: &'static str, body: &'static str| async move {
        sqlx::query("UPDATE prompts SET title = $2, body = $3, updated_at = now() WHERE id = $1")
            .bind(id)
            .bind(title)
            .bind(body)
            .execute(pool)
            .await
            .expect("update from another instance");
    };
    elsewhere(herd, "Zebra herd", "A herd of zebras, and the zebra that will cross.").await;
    assert_eq!(zebra().await, ["Zebra crossing", "Zebra herd"], "a prompt that now matches");
    for _ in 0..2 {
        assert_eq!(zebra().await, ["Zebra crossing", "Zebra herd"]);
    }
    elsewhere(crossing, "Crossing", "Cross at the lights.").await;
    assert_eq!(zebra().await, ["Zebra herd"], "a prompt that no longer matches");
}

/// Search reads everything it ranks by from the database: a change made by another instance
/// (here a second connection of the test's own, as a second server holds) shows in the next
/// search. A database whose prompts are not indexed (as one from before the index) is indexed
/// when an instance starts.
#[tokio::test]
async fn another_instances_changes_show_at_once_and_a_starting_instance_indexes_what_is_not() {
    use server::db::Db;
    let app = TestApp::spawn().await;
    let (owner, crossing, herd) = zebra_crossing_and_horses(&app).await;
    let zebra = || async { sorted_titles(search(&owner, json!({ "q": "zebra" })).await) };
    assert_eq!(zebra().await, ["Zebra crossing"]);

    let other = Elsewhere::open(&app, &owner).await;
    other.save(herd, "Zebra herd", "A herd of zebras and one zebra.").await;
    assert_eq!(zebra().await, ["Zebra crossing", "Zebra herd"], "a prompt that now matches");
    other.delete(crossing).await;
    assert_eq!(zebra().await, ["Zebra herd"], "a prompt that is gone");

    for sql in ["DELETE FROM search_postings", "DELETE FROM search_words", "UPDATE prompt_docs SET postings = NULL"] {
        match &other.db {
            Db::Sqlite(b) => sqlx::query(sql).execute(&b.pool).await.map(|_| ()),
            Db::Postgres(b) => sqlx::query(sql).execute(&b.pool).await.map(|_| ()),
        }
        .expect("take the index away");
    }
    assert_eq!(zebra().await, Vec::<String>::new(), "nothing indexed");
    other.db.close().await;
    let starting = Db::connect(&app.state.config.database_url).await.expect("a third instance");
    assert_eq!(zebra().await, ["Zebra herd"], "indexed as the third instance started");
    assert_eq!(sorted_titles(search(&owner, json!({ "q": "zebras" })).await), ["Zebra herd"]);
    starting.close().await;
}

/// Searches of words are ranked in memory, from the postings each instance keeps of the words it
/// was asked for: a change another instance makes (here a second connection of the test's own, as
/// a second server holds) shows in the next search all the same, as does this instance's own, and
/// a word that was in no prompt when first looked for.
#[tokio::test]
async fn searches_ranked_in_memory_see_every_instances_changes() {
    let app = TestApp::spawn().await;
    let (owner, crossing, herd) = zebra_crossing_and_horses(&app).await;
    let titles = async |q: &str| sorted_titles(search(&owner, json!({ "q": q })).await);
    for _ in 0..2 {
        assert_eq!(titles("zebra cross").await, ["Zebra crossing"]);
        assert_eq!(titles("okapi").await, Vec::<String>::new(), "in no prompt yet");
        assert_eq!(titles("zebra -cross").await, Vec::<String>::new());
    }

    let other = Elsewhere::open(&app, &owner).await;
    other.save(herd, "Zebra herd", "A herd of zebras; one zebra will cross with an okapi.").await;
    assert_eq!(titles("zebra cross").await, ["Zebra crossing", "Zebra herd"], "a prompt that now matches");
    assert_eq!(titles("okapi").await, ["Zebra herd"], "a word new to the organization");
    assert_eq!(titles("zebra cross -okapi").await, ["Zebra crossing"]);
    other.delete(crossing).await;
    assert_eq!(titles("zebra cross").await, ["Zebra herd"], "a prompt that is gone");
    other.db.close().await;

    let version = detail(&owner, herd).await.version;
    save(&owner, herd, version, "Horses", "A herd of horses.", "back").await;
    assert_eq!(titles("zebra cross").await, Vec::<String>::new(), "this instance's own change");
    assert_eq!(titles("horses herd").await, ["Horses"]);
}

/// A word in most prompts still decides what matches, and weighs by how rare it is, on both
/// backends alike (searches of words are ranked from Cairn's index). `zzzz` is in no prompt, so
/// `you OR zzzz` is `you`.
#[tokio::test]
async fn words_in_most_prompts_still_match_and_rank_as_their_weight_says() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    for (title, body) in [
        ("Alpha", "pricing pricing you"),
        ("Bravo", "pricing pricing you and more words"),
        ("Charlie", "pricing you you you you you"),
        ("Delta", "pricing alone"),
        ("Echo", "you again"),
        ("Foxtrot", "you once more"),
        ("Golf", "and you too"),
        ("Hotel", "you see"),
        ("India", "you know"),
    ] {
        owner.create_prompt(title, body).await.expect("create");
    }
    let titles = async |q: &str| -> Vec<String> {
        search(&owner, json!({ "q": q })).await.items.into_iter().map(|p| p.title).collect()
    };
    // "you" is in 8 of 9 prompts and weighs little: "pricing" orders them. Delta has no "you".
    let ranked = titles("pricing you OR zzzz").await;
    assert_eq!(titles("pricing you").await, ranked);
    assert_eq!(ranked, ["Alpha", "Bravo", "Charlie"]);
    assert_eq!(titles("pricing -you").await, ["Delta"]);

    // With 30 more prompts "you" is in 8 of 39 and weighs: Charlie's five count.
    for i in 0..30 {
        owner.create_prompt(&format!("Filler {i}"), "nothing here at all").await.expect("create");
    }
    let ranked = titles("pricing you OR zzzz").await;
    assert_eq!(titles("pricing you").await, ranked, "the counts of before are forgotten");
    assert_eq!(ranked, ["Charlie", "Alpha", "Bravo"]);
}

/// A search that comes again sees what was created, edited or deleted since, at once.
#[tokio::test]
async fn a_repeated_search_sees_what_changed_since() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    owner.create_prompt("Kiwi once", "kiwi").await.expect("create");
    let twice = owner.create_prompt("Kiwi twice", "kiwi kiwi and more words").await.expect("create");
    owner.create_prompt("Plum", "no fruit of that name").await.expect("create");
    let titles = async |q: &str| -> Vec<String> {
        search(&owner, json!({ "q": q })).await.items.into_iter().map(|p| p.title).collect()
    };
    let first = titles("kiwi").await;
    assert_eq!(first.len(), 2);
    for _ in 0..3 {
        assert_eq!(titles("kiwi").await, first);
    }

    let best = owner.create_prompt("Kiwi kiwi kiwi", "kiwi kiwi kiwi kiwi kiwi").await.expect("create");
    let after_create = titles("kiwi").await;
    assert_eq!(after_create.len(), 3);
    assert_eq!(after_create[0], "Kiwi kiwi kiwi", "the new best match comes first");
    titles("kiwi").await;

    owner.update_prompt(twice, 1, "Plain", "nothing about fruit").await.expect("edit");
    assert_eq!(titles("kiwi").await, ["Kiwi kiwi kiwi", "Kiwi once"], "an edit takes the word away");
    titles("kiwi").await;

    owner.delete_prompt(best).await.expect("delete");
    assert_eq!(titles("kiwi").await, ["Kiwi once"]);
    assert_eq!(titles("kiwi").await, ["Kiwi once"]);
}

/// What typo tolerance looks up (whether a word is in the organization's prompts, the words a
/// misspelling may have meant) is remembered: a word that arrives later, by a create or an edit,
/// is offered at once; another organization's words never are.
#[tokio::test]
async fn typo_tolerance_sees_words_added_since() {
    let app = TestApp::spawn().await;
    let other = app.signed_up("Omar", "omar@example.com").await;
    other.create_prompt("Elsewhere", "prompting prompts").await.expect("create");
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let plum = owner.create_prompt("Plum", "no fruit of that name").await.expect("create");
    let found = async |q: &str| -> (Vec<String>, Vec<(String, Vec<String>)>) {
        let page = search(&owner, json!({ "q": q })).await;
        (page.items.into_iter().map(|p| p.title).collect(), page.widened)
    };
    for _ in 0..2 {
        assert_eq!(found("promt").await, (vec![], vec![]), "no near word in this organization");
        assert_eq!(found("prompt").await.0, Vec::<String>::new());
    }

    owner.create_prompt("Prompt tips", "How to write a good prompt.").await.expect("create");
    let widened = vec![("promt".to_owned(), vec!["prompt".to_owned()])];
    for _ in 0..2 {
        assert_eq!(found("promt").await, (vec!["Prompt tips".to_owned()], widened.clone()));
        assert_eq!(found("prompt").await, (vec!["Prompt tips".to_owned()], vec![]), "a word now, not a typo");
    }

    assert_eq!(found("plumb").await.1, vec![("plumb".to_owned(), vec!["plum".to_owned()])]);
    owner.update_prompt(plum, 1, "Plumb line", "a plumb line hangs straight").await.expect("edit");
    assert_eq!(found("plumb").await, (vec!["Plumb line".to_owned()], vec![]), "an edit brought the word");
}

/// Whether a word is one of the organization's is answered on SQLite from the words of its first
/// letter and length, when there are fewer than the 2,000 read at most: with more, a word past the
/// first 2,000 is still known as one, not taken for a typo of its neighbours.
#[tokio::test]
async fn a_word_among_thousands_of_its_shape_is_no_typo() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let words: Vec<String> = (0..2_100).map(|i| format!("px{i:04}")).collect();
    owner.create_prompt("Codes", &words.join(" ")).await.expect("create");
    for q in ["px0001", "px2050"] {
        let page = search(&owner, json!({ "q": q })).await;
        assert_eq!((page.items.len(), page.widened), (1, vec![]), "{q} is a word");
    }
    let typo = search(&owner, json!({ "q": "px10x50" })).await;
    assert_eq!(typo.widened, vec![("px10x50".to_owned(), vec!["px1050".to_owned()])]);
}

/// A misspelling is widened to near words that start with its first letter, on both backends
/// (PostgreSQL finds candidates by trigrams, which would offer "jove" for "mjove" too).
#[tokio::test]
async fn a_typo_keeps_its_first_letter() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    owner.create_prompt("Moving day", "Plan the move to the new office.").await.expect("create");
    owner.create_prompt("Ode", "A hymn to jove, king of the gods.").await.expect("create");
    let page = search(&owner, json!({ "q": "mjove" })).await;
    assert_eq!(page.items.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(), ["Moving day"]);
    assert_eq!(page.widened, vec![("mjove".to_owned(), vec!["move".to_owned()])]);
}

/// A search filtered by nothing but its organization and what the caller may see, and one with a
/// filter that every match passes (sorted by time of change on PostgreSQL, the first reads
/// `prompt_search` alone), give the same page, ties broken by time of change, never another
/// organization's prompts nor someone else's private ones; an edit is seen by both.
#[tokio::test]
async fn a_search_with_and_without_filters_ranks_the_same() {
    let app = TestApp::spawn().await;
    let other = app.signed_up("Omar", "omar@example.com").await;
    other.create_prompt("Kiwi elsewhere", "kiwi kiwi kiwi kiwi kiwi kiwi").await.expect("create");
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;
    let mut ids = Vec::new();
    for (i, body) in ["kiwi", "kiwi", "kiwi kiwi kiwi", "kiwi", "kiwi kiwi", "plum"].iter().enumerate() {
        app.clock.advance(chrono::Duration::minutes(1));
        ids.push(owner.create_prompt(&format!("Fruit {i}"), body).await.expect("create"));
    }
    let secret =
        json!({ "input": { "title": "Fruit secret", "body": "kiwi kiwi kiwi kiwi kiwi", "visibility": "private" } });
    let _: Uuid = owner.call_json("create_prompt", secret).await.expect("a private prompt");
    let page = async |who: &Client, params: serde_json::Value| -> Vec<String> {
        search(who, params).await.items.into_iter().map(|p| p.title).collect()
    };
    for sort in ["relevance", "updated"] {
        for (who, private) in [(&owner, true), (&viewer, false)] {
            let alone = page(who, json!({ "q": "kiwi", "sort": sort })).await;
            let filtered = page(who, json!({ "q": "kiwi", "sort": sort, "status": "draft" })).await;
            assert_eq!(alone, filtered, "sorted by {sort}");
            let mut expected = match sort {
                "relevance" => vec!["Fruit 2", "Fruit 4", "Fruit 3", "Fruit 1", "Fruit 0"],
                _ => vec!["Fruit 4", "Fruit 3", "Fruit 2", "Fruit 1", "Fruit 0"],
            };
            if private {
                expected.insert(0, "Fruit secret");
            }
            assert_eq!(alone, expected, "sorted by {sort}; the private prompt is its author's alone");
        }
    }
    app.clock.advance(chrono::Duration::minutes(1));
    owner.update_prompt(ids[0], 1, "Fruit 0", "kiwi kiwi kiwi kiwi").await.expect("edit");
    let alone = page(&viewer, json!({ "q": "kiwi" })).await;
    assert_eq!(alone, ["Fruit 0", "Fruit 2", "Fruit 4", "Fruit 3", "Fruit 1"], "the edit ranks it first");
    assert_eq!(alone, page(&viewer, json!({ "q": "kiwi", "status": "draft" })).await);
    assert_eq!(page(&viewer, json!({ "q": "kiwi", "sort": "updated" })).await[0], "Fruit 0", "the latest change");
}

/// Pages of a search's matches follow each other as one list of them (a page of 100 is what the
/// pages of 20 are checked against), and another organization's better matches take no place in
/// them.
#[tokio::test]
async fn a_search_pages_through_an_organizations_matches_when_another_organization_holds_the_best() {
    use std::collections::HashSet;
    let app = TestApp::spawn().await;
    let zoo_owner = app.signed_up("Olivia", "olivia@example.com").await;
    let zoo = create_org(&zoo_owner, "Zoo").await;
    let user = zoo_owner.me().await.expect("me").user_id;
    app.give_org_plan(zoo.id, user, "enterprise", 5).await;
    for i in 0..210 {
        let body = vec!["zebra"; i % 10 + 1].join(" ");
        zoo_owner.create_prompt(&format!("Zebra zebra {i}"), &body).await.expect("prompt");
    }
    let farm_owner = app.signed_up("Omar", "omar@example.com").await;
    create_org(&farm_owner, "Farm").await;
    let mut strong = HashSet::new();
    for i in 0..3 {
        let body = ["zebra"; 12].join(" ");
        strong.insert(farm_owner.create_prompt(&format!("Zebra zebra zebra {i}"), &body).await.expect("prompt"));
    }
    let filler = "one line about horses and cows and the fields they graze in all summer long ".repeat(3);
    for i in 0..22 {
        farm_owner.create_prompt(&format!("Weak {i}"), &format!("{filler} zebra")).await.expect("prompt");
    }

    let ids = |page: &PromptPage| page.items.iter().map(|p| p.id).collect::<Vec<_>>();
    let pages = async |client: &Client| {
        let first = search(client, json!({ "q": "zebra", "limit": 20 })).await;
        let cursor = first.next_cursor.clone().expect("a second page");
        let second = search(client, json!({ "q": "zebra", "limit": 20, "cursor": cursor })).await;
        let all = search(client, json!({ "q": "zebra", "limit": 100 })).await;
        (first, second, ids(&all))
    };
    // The Zoo's matches are most of the best 200: its pages come from those.
    let (first, second, all) = pages(&zoo_owner).await;
    assert_eq!(all.len(), 100);
    assert_eq!([ids(&first), ids(&second)].concat(), all[..40]);

    // The Farm's three strong matches are among the index's best 200, its 22 weak ones are not:
    // its pages still hold them all, in the same order.
    let (first, second, all) = pages(&farm_owner).await;
    assert_eq!(all.len(), 25);
    assert_eq!(all[..3].iter().copied().collect::<HashSet<_>>(), strong, "the strong ones first");
    assert_eq!((first.items.len(), second.items.len(), &second.next_cursor), (20, 5, &None));
    assert_eq!([ids(&first), ids(&second)].concat(), all);
}

#[tokio::test]
async fn rendering_checks_every_variable_and_counts_uses() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let variables = json!([
        { "name": "name", "kind": "text" },
        { "name": "count", "kind": "number" },
        { "name": "tone", "kind": "select", "options": ["formal", "casual"], "default": "casual" }
    ]);
    let input = json!({ "title": "Greeting", "body": "Dear {{name}}, here are {{count}} tips in a {{tone}} tone. \\{{literal}}", "variables": variables });
    let id: Uuid = owner.call_json("create_prompt", json!({ "input": input })).await.expect("create");

    let problems: RenderOutcome = owner
        .call_json("render_prompt", json!({ "id": id, "version": null, "values": { "count": "many" } }))
        .await
        .expect("render");
    let RenderOutcome::Problems(problems) = problems else { panic!("expected problems") };
    assert_eq!(problems.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["name", "count"]);

    let rendered: RenderOutcome = owner
        .call_json("render_prompt", json!({ "id": id, "version": 1, "values": { "name": "Ada", "count": "3" } }))
        .await
        .expect("render");
    assert_eq!(rendered, RenderOutcome::Rendered("Dear Ada, here are 3 tips in a casual tone. {{literal}}".into()));
    // Counted in memory, written with the others once a second; the refused render is not counted.
    let services = &app.state.services;
    services.prompt_counts.flush(services.store.as_ref()).await.expect("flush");
    assert_eq!(detail(&owner, id).await.use_count, 1);

    // A select without options is refused next to the variables.
    let bad = json!({ "title": "T", "body": "{{x}}", "variables": [{ "name": "x", "kind": "select" }] });
    let failure = owner.call_json::<Uuid>("create_prompt", json!({ "input": bad })).await.unwrap_err();
    assert!(matches!(&failure.error, AppError::Validation { field, .. } if field == "variables"));
}

#[tokio::test]
async fn private_prompts_are_for_their_author_and_admins_and_markdown_is_sanitized() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let org = create_org(&owner, "Acme").await;
    let editor = join(&app, &owner, org.id, "Edith", "edith@example.com", "editor").await;
    let viewer = join(&app, &owner, org.id, "Victor", "victor@example.com", "viewer").await;
    let input = json!({
        "title": "Draft idea",
        "body": "**Bold** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>",
        "visibility": "private"
    });
    let id: Uuid = editor.call_json("create_prompt", json!({ "input": input })).await.expect("create");

    let mine = detail(&editor, id).await;
    assert!(mine.html.contains("<strong>Bold</strong>"));
    for unsafe_bit in ["<script", "javascript:", "onerror"] {
        assert!(!mine.html.contains(unsafe_bit), "{unsafe_bit} removed from {}", mine.html);
    }
    assert!(viewer.prompts().await.expect("list").is_empty(), "hidden from a viewer");
    let hidden = viewer.call_json::<PromptDetail>("prompt", json!({ "id": id })).await.unwrap_err();
    assert_eq!(hidden.status, 404);
    owner.call::<()>("switch_org", &[("org_id", &org.id.to_string())]).await.expect("switch");
    assert_eq!(owner.prompts().await.expect("list").len(), 1, "admins see private prompts");
}

#[tokio::test]
async fn a_list_shows_the_description_or_else_the_start_of_the_content_and_a_search_finds_the_content() {
    let app = TestApp::spawn().await;
    let owner = app.signed_up("Olivia", "olivia@example.com").await;
    let input = json!({ "title": "Described", "description": "What it is for", "body": "Hidden kiwi words" });
    owner.call_json::<Uuid>("create_prompt", json!({ "input": input })).await.expect("create");
    owner.create_prompt("Plain", "Opening words of the content").await.expect("create");

    let text = |page: &app::dto::PromptPage, title: &str| -> String {
        let item = page.items.iter().find(|p| p.title == title).expect("listed");
        item.snippet.iter().map(|m| m.text.as_str()).collect()
    };
    let page = search(&owner, json!({})).await;
    assert_eq!(text(&page, "Described"), "What it is for");
    assert_eq!(text(&page, "Plain"), "Opening words of the content");
    let page = search(&owner, json!({ "q": "kiwi" })).await;
    assert_eq!(text(&page, "Described"), "Hidden kiwi words", "the hit is in the content");
    let detail: app::dto::PromptDetail =
        owner.call_json("prompt", json!({ "id": page.items[0].id })).await.expect("detail");
    assert_eq!(detail.fields.body, "Hidden kiwi words", "a prompt's own page reads all of it");
}
