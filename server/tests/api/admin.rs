//! Platform administration: only system admins grant and revoke platform and capability roles.

use crate::support::{TestApp, field_of};
use app::domain::{CapabilityRole, PlatformRole};
use app::dto::AdminUserView;

#[tokio::test]
async fn system_admins_grant_capability_roles_and_nobody_else_can() {
    let app = TestApp::spawn().await;
    let admin = app.signed_up("Sam Sysadmin", "sam@example.com").await;
    let clara = app.signed_up("Clara Client", "clara@example.com").await;
    let sam_id = admin.me().await.expect("me").user_id;
    let clara_id = clara.me().await.expect("me").user_id.to_string();

    // Before the grant, Sam is an ordinary user: forbidden.
    assert_eq!(admin.call::<Vec<AdminUserView>>("admin_users", &[]).await.unwrap_err().status, 403);
    app.state.services.store.grant_platform_role(sam_id, PlatformRole::SystemAdmin).await.expect("grant");

    let found: Vec<AdminUserView> = admin.call("admin_users", &[("search", "CLARA")]).await.expect("search");
    assert_eq!(found.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(), ["clara@example.com"]);
    let none: Vec<AdminUserView> = admin.call("admin_users", &[("search", "%")]).await.expect("search");
    assert!(none.is_empty(), "LIKE wildcards in the search are taken literally");

    admin
        .call::<()>("admin_set_role", &[("user_id", &clara_id), ("role", "creator"), ("granted", "true")])
        .await
        .expect("grant");
    admin
        .call::<()>("admin_set_role", &[("user_id", &clara_id), ("role", "moderator"), ("granted", "true")])
        .await
        .expect("grant");
    let me = clara.me().await.expect("me");
    assert_eq!(me.capabilities, vec![CapabilityRole::Creator]);
    assert_eq!(me.platform_roles, vec![PlatformRole::Moderator]);

    // Clara, a moderator and creator, still may not administer the platform.
    let denied = clara
        .call::<()>("admin_set_role", &[("user_id", &clara_id), ("role", "system_admin"), ("granted", "true")])
        .await;
    assert_eq!(denied.unwrap_err().status, 403);

    admin
        .call::<()>("admin_set_role", &[("user_id", &clara_id), ("role", "creator"), ("granted", "false")])
        .await
        .expect("revoke");
    assert!(clara.me().await.expect("me").capabilities.is_empty());

    let unknown = admin
        .call::<()>("admin_set_role", &[("user_id", &clara_id), ("role", "emperor"), ("granted", "true")])
        .await
        .unwrap_err();
    assert_eq!(field_of(&unknown), "role");
    let own = admin
        .call::<()>(
            "admin_set_role",
            &[("user_id", &sam_id.to_string()), ("role", "system_admin"), ("granted", "false")],
        )
        .await;
    assert_eq!(own.unwrap_err().status, 409, "an admin cannot lock themselves out");
}
