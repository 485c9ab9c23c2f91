//! The comment threads under a prompt, and the notifications page.

use super::SignedIn;
use crate::api::comments::{
    add_comment, comments, delete_comment, edit_comment, mark_notifications_read, notifications,
};
use crate::components::layout::LocalTime;
use crate::dto::{CommentView, Me};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

/// What a comment form does when sent.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Thread,
    Reply(Uuid),
    Edit(Uuid),
}

#[component]
pub fn Comments(prompt_id: Uuid, initial: Vec<CommentView>) -> impl IntoView {
    let threads = RwSignal::new(initial);
    let refresh = Callback::new(move |()| {
        spawn_local(async move {
            if let Ok(list) = comments(prompt_id).await {
                threads.set(list);
            }
        })
    });
    view! {
        <section class="card comments" aria-labelledby="comments-heading">
            <h2 id="comments-heading">"Comments"</h2>
            {move || {
                let list = threads.get();
                if list.is_empty() {
                    view! { <p class="muted">"No comments yet."</p> }.into_any()
                } else {
                    list.into_iter()
                        .map(|c| view! { <CommentItem comment=c prompt_id=prompt_id top=true refresh=refresh/> })
                        .collect_view()
                        .into_any()
                }
            }}
            <CommentForm prompt_id=prompt_id target=Target::Thread label="Comment".into() button="Post comment" done=refresh/>
        </section>
    }
}

#[component]
fn CommentItem(comment: CommentView, prompt_id: Uuid, top: bool, refresh: Callback<()>) -> impl IntoView {
    let id = comment.id;
    let author = comment.author_name.clone();
    let editing = RwSignal::new(false);
    let replying = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let remove = move |_| {
        if !window().confirm_with_message("Delete this comment?").unwrap_or(false) {
            return;
        }
        spawn_local(async move {
            match delete_comment(id).await {
                Ok(()) => refresh.run(()),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let body = comment.body.clone();
    let replies = comment.replies.clone();
    view! {
        <article class="comment" id=format!("comment-{id}") aria-label=format!("Comment by {author}")>
            <p class="comment-meta">
                <strong>{author.clone()}</strong> " · " <LocalTime at=comment.created_at/>
                {comment.edited_at.is_some().then_some(" · edited")}
            </p>
            {if comment.deleted {
                view! { <p class="muted">"This comment was deleted."</p> }.into_any()
            } else {
                view! { <div class="comment-body" inner_html=comment.html.clone()></div> }.into_any()
            }}
            <div class="actions">
                {top.then(|| view! {
                    <button type="button" class="small secondary" aria-expanded=move || replying.get().to_string()
                        aria-label=format!("Reply to {author}") on:click=move |_| replying.update(|r| *r = !*r)>"Reply"</button>
                })}
                {comment.can_edit.then(|| view! {
                    <button type="button" class="small secondary" aria-expanded=move || editing.get().to_string()
                        aria-label="Edit your comment" on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                })}
                {comment.can_delete.then(|| view! {
                    <button type="button" class="small danger" aria-label="Delete comment" on:click=remove>"Delete"</button>
                })}
            </div>
            <p role="alert" class="form-error">{move || error.get()}</p>
            <Show when=move || editing.get()>
                <CommentForm prompt_id=prompt_id target=Target::Edit(id) label="Edit comment".into() button="Save comment"
                    initial=body.clone() done=refresh/>
            </Show>
            {(!replies.is_empty()).then(|| view! {
                <div class="replies">
                    {replies.clone().into_iter().map(|r| view! { <CommentItem comment=r prompt_id=prompt_id top=false refresh=refresh/> }.into_any()).collect_view()}
                </div>
            })}
            <Show when=move || replying.get()>
                <CommentForm prompt_id=prompt_id target=Target::Reply(id) label=format!("Your reply to {}", comment.author_name)
                    button="Post reply" done=refresh/>
            </Show>
        </article>
    }
    .into_any()
}

#[component]
fn CommentForm(
    prompt_id: Uuid,
    target: Target,
    label: String,
    button: &'static str,
    #[prop(optional)] initial: String,
    done: Callback<()>,
) -> impl IntoView {
    let text = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let field = match target {
        Target::Thread => format!("new-comment-{prompt_id}"),
        Target::Reply(id) => format!("reply-{id}"),
        Target::Edit(id) => format!("edit-{id}"),
    };
    let error_id = format!("{field}-error");
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = text.get_untracked();
        pending.set(true);
        spawn_local(async move {
            let result = match target {
                Target::Thread => add_comment(prompt_id, None, body).await.map(drop),
                Target::Reply(parent) => add_comment(prompt_id, Some(parent), body).await.map(drop),
                Target::Edit(id) => edit_comment(id, body).await.map(drop),
            };
            pending.set(false);
            match result {
                Ok(()) => {
                    text.set(String::new());
                    error.set(None);
                    done.run(());
                }
                Err(e) => error.set(Some(e.field_message("body").unwrap_or_else(|| e.to_string()))),
            }
        });
    };
    view! {
        <form class="comment-form" on:submit=send>
            <div class="field">
                <label for=field.clone()>{label}</label>
                <textarea id=field rows="3" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))
                    aria-invalid=move || error.get().is_some().to_string() aria-describedby=error_id.clone()></textarea>
                <p class="field-error" id=error_id aria-live="polite">{move || error.get()}</p>
            </div>
            {(target == Target::Thread).then(|| view! {
                <p class="hint">"Markdown works. Mention a member with @ and their name, e.g. @edith or @edith.editor: they get a notification and an email."</p>
            })}
            <button type="submit" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>{button}</button>
        </form>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    view! { <SignedIn content=|_me: Me| view! { <Notifications/> }/> }
}

#[component]
fn Notifications() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let list = Resource::new(move || changed.get(), |_| notifications());
    let read_all = move |_| {
        spawn_local(async move {
            if mark_notifications_read(None).await.is_ok() {
                changed.update(|n| *n += 1);
            }
        })
    };
    view! {
        <section class="page narrow">
            <div class="page-head">
                <h1>"Notifications"</h1>
                <button type="button" class="secondary" on:click=read_all>"Mark all as read"</button>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! { <p>"Nothing yet. Mentions and replies to your comments show up here."</p> }.into_any(),
                        Ok(items) => view! {
                            <ul class="notifications">
                                {items.into_iter().map(|n| {
                                    let id = n.id;
                                    view! {
                                        <li class=if n.read { "notification" } else { "notification unread" }>
                                            <a href=n.link.clone() on:click=move |_| {
                                                spawn_local(async move { let _ = mark_notifications_read(Some(vec![id])).await; });
                                            }>{n.title.clone()}</a>
                                            {(!n.read).then_some(view! { <span class="badge">"new"</span> })}
                                            <p class="muted">{n.body.clone()}</p>
                                            <p class="muted"><LocalTime at=n.created_at/></p>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
