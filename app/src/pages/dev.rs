//! The development mailbox: outgoing mail when no SMTP server is configured.

use crate::api::dev::dev_mailbox;
use crate::components::layout::LocalTime;
use leptos::prelude::*;

#[component]
pub fn MailboxPage() -> impl IntoView {
    let mail = Resource::new(|| (), |_| dev_mailbox());
    view! {
        <section class="page">
            <h1>"Mailbox"</h1>
            <p class="muted">"Mail Cairn would have sent. Shown only in development and demo mode."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match mail.await {
                        Ok(mails) if mails.is_empty() => view! { <p>"No mail yet."</p> }.into_any(),
                        Ok(mails) => view! {
                            <ul class="mailbox">
                                {mails.into_iter().map(|m| view! {
                                    <li>
                                        <article aria-label=format!("Mail to {}: {}", m.to, m.subject)>
                                            <h2>{m.subject.clone()}</h2>
                                            <p class="muted">"To " {m.to.clone()} " · " <LocalTime at=m.created_at/></p>
                                            <pre>{m.body.clone()}</pre>
                                        </article>
                                    </li>
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
