//! Accounts and sessions: sign up, verification, sign in/out, reset, magic link, password change,
//! sessions, two-factor, rate limits — with the bad inputs.

use crate::support::{PASSWORD, TestApp, field_of};
use app::dto::{SessionView, SignInOutcome, TotpSetup};
use app::error::AppError;
use chrono::Duration;

#[tokio::test]
async fn sign_up_verify_by_mail_then_sign_in_and_out() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let answer = client.sign_up("Ada Lovelace", "Ada@Example.com", PASSWORD).await.expect("sign up");
    assert_eq!(answer, app::api::auth::SIGN_UP_SENT);
    assert!(client.me().await.is_none(), "not signed in before verifying");

    // Unverified accounts cannot sign in yet.
    let failure = client.sign_in("ada@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(field_of(&failure), "email");

    let token = app.mail.token_for("ada@example.com", "verify-email?token=").await;
    let outcome: SignInOutcome = client.call("verify_email", &[("token", &token)]).await.expect("verify");
    assert_eq!(outcome, SignInOutcome::SignedIn);
    let me = client.me().await.expect("signed in after verifying");
    assert_eq!(me.email, "ada@example.com");
    assert_eq!(me.timezone, "Europe/Berlin");
    assert_eq!(me.orgs.len(), 1, "a personal organization is created at sign-up");
    assert_eq!(me.orgs[0].role, app::domain::OrgRole::Owner);
    assert_eq!(me.orgs[0].kind, app::domain::OrgKind::Personal);

    // The link works once.
    let again = client.call::<SignInOutcome>("verify_email", &[("token", &token)]).await.unwrap_err();
    assert_eq!(field_of(&again), "token");

    client.call::<()>("sign_out", &[]).await.expect("sign out");
    assert!(client.me().await.is_none());

    let other = app.client();
    assert_eq!(other.sign_in("ada@example.com", PASSWORD).await.expect("sign in"), SignInOutcome::SignedIn);
    assert!(other.me().await.is_some());
}

#[tokio::test]
async fn sign_up_rejects_bad_input_field_by_field() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let weak = client.sign_up("Ada", "ada@example.com", "short").await.unwrap_err();
    assert_eq!((weak.status, field_of(&weak)), (422, "password"));
    let common = client.sign_up("Ada", "ada@example.com", "password123").await.unwrap_err();
    assert_eq!(field_of(&common), "password");
    let email = client.sign_up("Ada", "not-an-email", PASSWORD).await.unwrap_err();
    assert_eq!(field_of(&email), "email");
    let name = client.sign_up("   ", "ada@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(field_of(&name), "display_name");
    assert!(app.mail.all().is_empty(), "nothing is sent for rejected input");
}

#[tokio::test]
async fn duplicate_sign_up_answers_the_same_and_tells_the_owner() {
    let app = TestApp::spawn().await;
    let first = app.signed_up("Ada", "ada@example.com").await;
    let stranger = app.client();
    let answer = stranger.sign_up("Mallory", "ada@example.com", "another good passphrase").await.expect("same answer");
    assert_eq!(answer, app::api::auth::SIGN_UP_SENT);
    app.mail.wait_for("ada@example.com", "Someone tried to sign up").await;
    // The account is unchanged: the original password still works, the new one does not.
    assert!(stranger.sign_in("ada@example.com", "another good passphrase").await.is_err());
    assert!(first.me().await.is_some());
    assert_eq!(app.client().sign_in("ada@example.com", PASSWORD).await.expect("sign in"), SignInOutcome::SignedIn);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_alike_then_rate_limit() {
    let app = TestApp::spawn_with(|c| c.sign_in_limit_per_ip = 5).await;
    app.signed_up("Ada", "ada@example.com").await;
    let client = app.client();
    let unknown = client.sign_in("nobody@example.com", PASSWORD).await.unwrap_err();
    let wrong = client.sign_in("ada@example.com", "wrong password here").await.unwrap_err();
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.error, wrong.error);
    for _ in 0..3 {
        let _ = client.sign_in("ada@example.com", "wrong password here").await;
    }
    let limited = client.sign_in("ada@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(limited.status, 429);
    assert!(matches!(limited.error, AppError::RateLimited { .. }));
    let retry: u64 = limited.retry_after.expect("Retry-After header").parse().expect("seconds");
    assert!(retry > 0 && retry <= 15 * 60);
    // The window passes.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(client.sign_in("ada@example.com", PASSWORD).await.expect("allowed again"), SignInOutcome::SignedIn);
}

#[tokio::test]
async fn account_limit_applies_across_addresses() {
    let app = TestApp::spawn_with(|c| {
        c.sign_in_limit_per_account = 3;
        c.sign_in_limit_per_ip = 1000;
    })
    .await;
    app.signed_up("Ada", "ada@example.com").await;
    for _ in 0..3 {
        let _ = app.client().sign_in("ada@example.com", "wrong password here").await;
    }
    let limited = app.client().sign_in("ada@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(limited.status, 429);
    app.clock.advance(Duration::minutes(61));
    assert!(app.client().sign_in("ada@example.com", PASSWORD).await.is_ok());
}

#[tokio::test]
async fn password_reset_by_mail_ends_every_session() {
    let app = TestApp::spawn().await;
    let old_session = app.signed_up("Ada", "ada@example.com").await;
    let client = app.client();
    let unknown: String =
        client.call("request_password_reset", &[("email", "nobody@example.com")]).await.expect("same answer");
    let known: String = client.call("request_password_reset", &[("email", "ada@example.com")]).await.expect("answer");
    assert_eq!(unknown, known);
    let token = app.mail.token_for("ada@example.com", "reset-password?token=").await;
    // The unknown address was asked for first; by now any mail to it would have arrived.
    assert!(app.mail.to("nobody@example.com").is_empty());

    let weak = client.call::<()>("reset_password", &[("token", &token), ("password", "short")]).await.unwrap_err();
    assert_eq!(field_of(&weak), "password");
    client
        .call::<()>("reset_password", &[("token", &token), ("password", "a brand new passphrase")])
        .await
        .expect("reset");
    let reused = client
        .call::<()>("reset_password", &[("token", &token), ("password", "yet another passphrase")])
        .await
        .unwrap_err();
    assert_eq!(field_of(&reused), "token");

    assert!(old_session.me().await.is_none(), "sessions end on reset");
    assert!(client.sign_in("ada@example.com", PASSWORD).await.is_err());
    assert!(client.sign_in("ada@example.com", "a brand new passphrase").await.is_ok());
}

#[tokio::test]
async fn reset_link_expires_after_an_hour() {
    let app = TestApp::spawn().await;
    app.signed_up("Ada", "ada@example.com").await;
    let client = app.client();
    client.call::<String>("request_password_reset", &[("email", "ada@example.com")]).await.expect("request");
    let token = app.mail.token_for("ada@example.com", "reset-password?token=").await;
    app.clock.advance(Duration::minutes(61));
    let expired = client
        .call::<()>("reset_password", &[("token", &token), ("password", "a brand new passphrase")])
        .await
        .unwrap_err();
    assert_eq!(field_of(&expired), "token");
}

#[tokio::test]
async fn magic_link_signs_in_once() {
    let app = TestApp::spawn().await;
    app.signed_up("Ada", "ada@example.com").await;
    let client = app.client();
    client.call::<String>("request_magic_link", &[("email", "ada@example.com")]).await.expect("request");
    let token = app.mail.token_for("ada@example.com", "magic?token=").await;
    let outcome: SignInOutcome = client.call("magic_sign_in", &[("token", &token)]).await.expect("sign in");
    assert_eq!(outcome, SignInOutcome::SignedIn);
    assert_eq!(client.me().await.expect("signed in").email, "ada@example.com");
    assert!(app.client().call::<SignInOutcome>("magic_sign_in", &[("token", &token)]).await.is_err());
}

#[tokio::test]
async fn change_password_ends_other_sessions_and_sessions_can_be_listed_and_revoked() {
    let app = TestApp::spawn().await;
    let laptop = app.signed_up("Ada", "ada@example.com").await;
    let phone = app.client();
    phone.sign_in("ada@example.com", PASSWORD).await.expect("sign in");
    let tablet = app.client();
    tablet.sign_in("ada@example.com", PASSWORD).await.expect("sign in");

    let sessions: Vec<SessionView> = laptop.call("sessions", &[]).await.expect("sessions");
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    let tablet_session = tablet
        .call::<Vec<SessionView>>("sessions", &[])
        .await
        .expect("sessions")
        .into_iter()
        .find(|s| s.current)
        .expect("current");
    laptop.call::<()>("revoke_session", &[("session_id", &tablet_session.id.to_string())]).await.expect("revoke");
    assert!(tablet.me().await.is_none(), "revoked session is signed out");

    let wrong = laptop
        .call::<()>(
            "change_password",
            &[("current_password", "not my password"), ("new_password", "a brand new passphrase")],
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&wrong), "current_password");
    laptop
        .call::<()>("change_password", &[("current_password", PASSWORD), ("new_password", "a brand new passphrase")])
        .await
        .expect("change");
    assert!(laptop.me().await.is_some(), "this session stays");
    assert!(phone.me().await.is_none(), "other sessions end");
}

#[tokio::test]
async fn sessions_expire_when_idle_and_absolutely() {
    let app = TestApp::spawn().await;
    let client = app.signed_up("Ada", "ada@example.com").await;
    app.clock.advance(Duration::minutes(29));
    assert!(client.me().await.is_some(), "activity within 30 minutes keeps the session");
    app.clock.advance(Duration::minutes(29));
    assert!(client.me().await.is_some());
    app.clock.advance(Duration::minutes(31));
    assert!(client.me().await.is_none(), "30 idle minutes end it");

    let client = app.client();
    client.sign_in("ada@example.com", PASSWORD).await.expect("sign in");
    for _ in 0..26 {
        app.clock.advance(Duration::minutes(28));
        let _ = client.me().await;
    }
    assert!(client.me().await.is_none(), "12 hours end it even when active");
}

#[tokio::test]
async fn two_factor_with_totp_and_recovery_codes() {
    let app = TestApp::spawn().await;
    let client = app.signed_up("Ada", "ada@example.com").await;
    let setup: TotpSetup = client.call("totp_begin", &[]).await.expect("begin");
    let now = app.clock_now();
    let wrong = client.call::<Vec<String>>("totp_confirm", &[("code", "000000")]).await.unwrap_err();
    assert_eq!(field_of(&wrong), "code");
    let code = app::security::totp_code(&setup.secret, now.timestamp()).expect("code");
    let recovery: Vec<String> = client.call("totp_confirm", &[("code", &code)]).await.expect("confirm");
    assert_eq!(recovery.len(), 10);
    assert!(client.me().await.expect("me").totp_enabled);

    let other = app.client();
    assert_eq!(
        other.sign_in("ada@example.com", PASSWORD).await.expect("password ok"),
        SignInOutcome::SecondFactorRequired
    );
    assert!(other.me().await.is_none(), "not signed in until the second factor");
    assert_eq!(other.call::<Vec<SessionView>>("sessions", &[]).await.unwrap_err().status, 401);
    let bad = other.call::<()>("second_factor", &[("code", "123456")]).await.unwrap_err();
    assert_eq!(field_of(&bad), "code");
    let code = app::security::totp_code(&setup.secret, app.clock_now().timestamp()).expect("code");
    other.call::<()>("second_factor", &[("code", &code)]).await.expect("second factor");
    assert!(other.me().await.is_some());

    // A recovery code works once.
    for (attempt, expect_ok) in [(1, true), (2, false)] {
        let c = app.client();
        c.sign_in("ada@example.com", PASSWORD).await.expect("password ok");
        let result = c.call::<()>("second_factor", &[("code", &recovery[0])]).await;
        assert_eq!(result.is_ok(), expect_ok, "recovery attempt {attempt}");
    }

    let off = client.call::<()>("totp_disable", &[("password", "wrong password here")]).await.unwrap_err();
    assert_eq!(field_of(&off), "password");
    client.call::<()>("totp_disable", &[("password", PASSWORD)]).await.expect("disable");
    assert_eq!(app.client().sign_in("ada@example.com", PASSWORD).await.expect("sign in"), SignInOutcome::SignedIn);
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_sets_a_safe_cookie() {
    let app = TestApp::spawn().await;
    app.signed_up("Ada", "ada@example.com").await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/sign_in", app.address))
        .header("accept", "application/json")
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in");
    let cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").to_owned();
    for attribute in ["cairn_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing in {cookie}");
    }
    let token = cookie.split(';').next().expect("pair").to_owned();
    let me = |token: String| {
        let address = app.address.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{address}/api/me"))
                .header("cookie", token)
                .send()
                .await
                .expect("me")
                .text()
                .await
                .expect("body")
        }
    };
    assert_ne!(me(token.clone()).await, "null");
    // Signing in again from that browser replaces the old session.
    reqwest::Client::new()
        .post(format!("{}/api/sign_in", app.address))
        .header("cookie", token.clone())
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in again");
    assert_eq!(me(token).await, "null", "the old token no longer works");
}
