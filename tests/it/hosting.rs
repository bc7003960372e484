//! Stores are provisioned, answer on their own webhook paths, and start, stop and come back
//! without a restart of the host.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokobot::config::UpdateMode;

use crate::support::{
    PUBLIC_URL, TestHost, bot_token, fake_telegram::Failure, spawn_host, spawn_host_in, text_update,
};

#[tokio::test]
async fn two_stores_get_their_own_webhooks_and_answer_start_in_their_own_voice() {
    let host = spawn_host().await;

    let a = host
        .create_store(
            "toko-a",
            1001,
            json!({"display_name": "Toko Alpha", "branding": {"welcome_text": "Voucher murah!"}}),
        )
        .await;
    let b = host
        .create_store(
            "shop-b",
            1002,
            json!({"display_name": "Beta Shop", "locale": "en", "branding": {"emoji": "🎮"}}),
        )
        .await;

    assert_eq!(
        a["telegram_webhook_url"],
        format!("{PUBLIC_URL}/webhooks/telegram/toko-a")
    );
    assert_eq!(
        a["pakasir_webhook_url"],
        format!("{PUBLIC_URL}/webhooks/pakasir/toko-a")
    );
    assert_eq!(a["bot_username"], "toko_a_bot");
    assert_eq!(
        b["telegram_webhook_url"],
        format!("{PUBLIC_URL}/webhooks/telegram/shop-b")
    );
    let hook_a = host
        .telegram
        .webhook(&bot_token(1001))
        .expect("store A set its webhook");
    let hook_b = host
        .telegram
        .webhook(&bot_token(1002))
        .expect("store B set its webhook");
    assert_eq!(hook_a.url, format!("{PUBLIC_URL}/webhooks/telegram/toko-a"));
    assert_eq!(hook_b.url, format!("{PUBLIC_URL}/webhooks/telegram/shop-b"));
    let (secret_a, secret_b) = (hook_a.secret_token.unwrap(), hook_b.secret_token.unwrap());
    assert_ne!(secret_a, secret_b);
    assert!(secret_a.len() >= 32);
    assert_eq!(
        hook_a.allowed_updates,
        Some(json!(["message", "callback_query", "my_chat_member"]))
    );
    assert_ne!(hook_a.drop_pending_updates, Some(true));

    assert_eq!(
        host.deliver("toko-a", Some(&secret_a), &text_update(1, 5001, "/start"))
            .await,
        StatusCode::OK
    );
    assert_eq!(
        host.deliver("shop-b", Some(&secret_b), &text_update(1, 5001, "/start"))
            .await,
        StatusCode::OK
    );

    let from_a = host.wait_texts(1001, 5001, 1).await;
    let from_b = host.wait_texts(1002, 5001, 1).await;
    assert!(
        from_a[0].contains("Selamat datang di <b>Toko Alpha</b>"),
        "{from_a:?}"
    );
    assert!(from_a[0].contains("Voucher murah!"), "{from_a:?}");
    assert!(
        from_b[0].contains("🎮 Welcome to <b>Beta Shop</b>"),
        "{from_b:?}"
    );
    assert!(!from_b[0].contains("Alpha") && !from_a[0].contains("Beta"));
    // Each reply went out through its own store's bot only.
    assert_eq!(host.settled_texts(1001, 5001).await.len(), 1);
    assert_eq!(host.settled_texts(1002, 5001).await.len(), 1);
}

#[tokio::test]
async fn start_records_the_customer_in_the_store() {
    let host = spawn_host().await;
    host.create_store("toko-rekam", 1010, json!({})).await;
    let secret = host.webhook_secret(1010);

    host.deliver("toko-rekam", Some(&secret), &text_update(7, 6001, "/start"))
        .await;
    host.wait_texts(1010, 6001, 1).await;
    // The welcome wrote nothing; the contact is recorded by the next coalesced flush.
    let running = &host.app.as_ref().expect("the host runs").host;
    running.customers().flush_seen(host.db()).await;

    let tenant: uuid::Uuid = sqlx::query_scalar("select id from tenants where slug = 'toko-rekam'")
        .fetch_one(host.db().registry())
        .await
        .unwrap();
    let mut tx = host
        .db()
        .tenant(tokobot::db::TenantId(tenant))
        .await
        .unwrap();
    let (first_name, username): (String, Option<String>) =
        sqlx::query_as("select first_name, username from customers where telegram_user_id = 6001")
            .fetch_one(&mut *tx)
            .await
            .expect("the customer was recorded");
    assert_eq!(first_name, "Budi");
    assert_eq!(username.as_deref(), Some("budi6001"));
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_refused_and_an_unknown_store_is_not_found() {
    let host = spawn_host().await;
    host.create_store("toko-aman", 1020, json!({})).await;
    let update = text_update(1, 5002, "/start");

    assert_eq!(
        host.deliver("toko-aman", None, &update).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        host.deliver("toko-aman", Some("not-the-secret"), &update)
            .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        host.deliver("toko-hilang", Some("x"), &update).await,
        StatusCode::NOT_FOUND
    );

    assert!(
        host.settled_texts(1020, 5002).await.is_empty(),
        "nothing may be processed"
    );
}

#[tokio::test]
async fn a_body_that_is_not_an_update_gets_400() {
    let host = spawn_host().await;
    host.create_store("toko-json", 1025, json!({})).await;
    let secret = host.webhook_secret(1025);

    for body in [
        json!({"hello": "world"}),
        json!([1, 2, 3]),
        json!({"update_id": "x"}),
    ] {
        assert_eq!(
            host.deliver("toko-json", Some(&secret), &body).await,
            StatusCode::BAD_REQUEST,
            "{body}"
        );
    }
    let raw = host
        .http
        .post(format!("{}/webhooks/telegram/toko-json", host.base))
        .header("X-Telegram-Bot-Api-Secret-Token", &secret)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_same_update_delivered_twice_is_answered_once() {
    let host = spawn_host().await;
    host.create_store("toko-sekali", 1030, json!({})).await;
    let secret = host.webhook_secret(1030);
    let update = text_update(42, 5003, "/start");

    assert_eq!(
        host.deliver("toko-sekali", Some(&secret), &update).await,
        StatusCode::OK
    );
    assert_eq!(
        host.deliver("toko-sekali", Some(&secret), &update).await,
        StatusCode::OK
    );

    host.wait_texts(1030, 5003, 1).await;
    assert_eq!(host.settled_texts(1030, 5003).await.len(), 1);
}

#[tokio::test]
async fn suspend_resume_and_delete_take_effect_at_once_and_spare_the_other_store() {
    let host = spawn_host().await;
    host.create_store("toko-satu", 1040, json!({})).await;
    host.create_store("toko-dua", 1041, json!({})).await;
    let secret_one = host.webhook_secret(1040);
    let secret_two = host.webhook_secret(1041);

    let (status, suspended) = host
        .operator(Method::POST, "/api/v1/tenants/toko-satu/suspend", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(suspended["status"], "suspended");
    assert!(
        host.telegram.webhook(&bot_token(1040)).is_none(),
        "the webhook is deleted"
    );
    assert_eq!(
        host.deliver(
            "toko-satu",
            Some(&secret_one),
            &text_update(1, 5004, "/start")
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert!(host.settled_texts(1040, 5004).await.is_empty());
    // The other store is untouched.
    assert_eq!(
        host.deliver(
            "toko-dua",
            Some(&secret_two),
            &text_update(1, 5004, "/start")
        )
        .await,
        StatusCode::OK
    );
    host.wait_texts(1041, 5004, 1).await;

    let (status, resumed) = host
        .operator(Method::POST, "/api/v1/tenants/toko-satu/resume", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resumed["status"], "active");
    let secret_one = host.webhook_secret(1040);
    assert_eq!(
        host.deliver(
            "toko-satu",
            Some(&secret_one),
            &text_update(2, 5004, "/start")
        )
        .await,
        StatusCode::OK
    );
    host.wait_texts(1040, 5004, 1).await;

    let (status, _) = host
        .operator(Method::DELETE, "/api/v1/tenants/toko-satu", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(host.telegram.webhook(&bot_token(1040)).is_none());
    assert_eq!(
        host.deliver(
            "toko-satu",
            Some(&secret_one),
            &text_update(3, 5004, "/start")
        )
        .await,
        StatusCode::NOT_FOUND
    );
    let (status, _) = host
        .operator(Method::GET, "/api/v1/tenants/toko-satu", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        host.settled_texts(1040, 5004).await.len(),
        1,
        "no reply after the delete"
    );

    assert_eq!(
        host.deliver(
            "toko-dua",
            Some(&secret_two),
            &text_update(2, 5004, "/start")
        )
        .await,
        StatusCode::OK
    );
    host.wait_texts(1041, 5004, 2).await;
}

#[tokio::test]
async fn a_purged_store_leaves_no_rows_behind() {
    let host = spawn_host().await;
    host.create_store("toko-hapus", 1045, json!({})).await;
    let secret = host.webhook_secret(1045);
    host.deliver("toko-hapus", Some(&secret), &text_update(1, 5005, "/start"))
        .await;
    host.wait_texts(1045, 5005, 1).await;

    let (status, _) = host
        .operator(
            Method::DELETE,
            "/api/v1/tenants/toko-hapus?purge=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let tenants: i64 = sqlx::query_scalar("select count(*) from tenants")
        .fetch_one(host.db().registry())
        .await
        .unwrap();
    assert_eq!(tenants, 0);
    // The slug is free again.
    host.create_store("toko-hapus", 1046, json!({})).await;
}

#[tokio::test]
async fn a_profile_change_is_visible_at_once_without_a_new_webhook() {
    let host = spawn_host().await;
    host.create_store("toko-ganti", 1050, json!({})).await;
    let secret = host.webhook_secret(1050);
    let set_webhooks = host.telegram.calls(&bot_token(1050), "setWebhook").len();

    let token = host.owner_token("toko-ganti").await;
    let (status, updated) = host
        .api(
            Method::PATCH,
            "/api/v1/tenants/toko-ganti",
            Some(&token),
            Some(json!({"display_name": "Toko Baru", "branding": {"welcome_text": "Diskon hari ini"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["display_name"], "Toko Baru");

    host.deliver("toko-ganti", Some(&secret), &text_update(1, 5006, "/start"))
        .await;
    let texts = host.wait_texts(1050, 5006, 1).await;
    assert!(
        texts[0].contains("Toko Baru") && texts[0].contains("Diskon hari ini"),
        "{texts:?}"
    );
    assert_eq!(
        host.telegram.calls(&bot_token(1050), "setWebhook").len(),
        set_webhooks
    );
}

#[tokio::test]
async fn a_restarted_host_brings_its_stores_back_and_continues_a_dialogue() {
    let mut host = spawn_host().await;
    host.create_store("toko-tahan", 1060, json!({})).await;
    let secret = host.webhook_secret(1060);

    // The customer starts choosing a language; the host restarts before they answer.
    host.deliver(
        "toko-tahan",
        Some(&secret),
        &text_update(1, 5007, "/language"),
    )
    .await;
    let asked = host.wait_texts(1060, 5007, 1).await;
    assert!(asked[0].contains("Pilih bahasa"), "{asked:?}");
    let webhooks_before = host.telegram.calls(&bot_token(1060), "setWebhook").len();

    host.restart().await;

    // The webhook was already registered: a restart does not register it again.
    assert_eq!(
        host.telegram.calls(&bot_token(1060), "setWebhook").len(),
        webhooks_before
    );
    host.deliver(
        "toko-tahan",
        Some(&secret),
        &text_update(2, 5007, "🇬🇧 English"),
    )
    .await;
    let texts = host.wait_texts(1060, 5007, 2).await;
    assert_eq!(texts[1], "Language saved: English.");

    host.deliver("toko-tahan", Some(&secret), &text_update(3, 5007, "/start"))
        .await;
    let texts = host.wait_texts(1060, 5007, 3).await;
    assert!(
        texts[2].contains("Welcome to <b>Toko toko-tahan</b>"),
        "the chosen language sticks: {texts:?}"
    );
}

#[tokio::test]
async fn a_restart_asks_telegram_nothing_per_store_and_a_token_revoked_meanwhile_is_noticed_at_first_use()
 {
    let mut host = spawn_host().await;
    host.create_store("toko-cabut", 1070, json!({})).await;
    host.create_store("toko-sehat", 1071, json!({})).await;
    let revoked_secret = host.webhook_secret(1070);
    let secret = host.webhook_secret(1071);
    host.telegram.remove_bot(&bot_token(1070));
    host.telegram.clear();

    host.restart().await;

    // The bots' identities come from the registry: no getMe, and no other call either.
    assert!(
        host.telegram.requests().is_empty(),
        "a restart calls Telegram: {:?}",
        host.telegram.requests()
    );
    // A command addressed to the bot by name is understood with that identity.
    host.deliver(
        "toko-sehat",
        Some(&secret),
        &text_update(1, 5008, "/start@toko_sehat_bot"),
    )
    .await;
    let texts = host.wait_texts(1071, 5008, 1).await;
    assert!(texts[0].contains("Selamat datang"), "{texts:?}");

    // The revoked token fails at its first reply: recorded as a check at start would, and the
    // store stops taking updates.
    let status = host
        .deliver(
            "toko-cabut",
            Some(&revoked_secret),
            &text_update(2, 5009, "/start"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, store) = host
            .operator(Method::GET, "/api/v1/tenants/toko-cabut", None)
            .await;
        let stopped = host
            .deliver(
                "toko-cabut",
                Some(&revoked_secret),
                &text_update(3, 5009, "/start"),
            )
            .await
            == StatusCode::NOT_FOUND;
        if store["bot_error"] == "Telegram rejected the bot token" && stopped {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the revoked token was not noticed: {store}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(host.telegram.calls(&bot_token(1071), "getMe").is_empty());
}

#[tokio::test]
async fn in_polling_mode_a_store_answers_updates_it_fetches_itself() {
    let host = spawn_host_in(UpdateMode::Polling).await;
    let created = host.create_store("toko-poll", 1080, json!({})).await;
    assert!(created["telegram_webhook_url"].is_null());

    host.telegram
        .push_update(&bot_token(1080), text_update(1, 5009, "/start"));

    let texts = host.wait_texts(1080, 5009, 1).await;
    assert!(
        texts[0].contains("Selamat datang di <b>Toko toko-poll</b>"),
        "{texts:?}"
    );
    assert!(
        host.telegram
            .calls(&bot_token(1080), "setWebhook")
            .is_empty(),
        "polling mode registers no webhook"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_reply_arrives_once() {
    let host = spawn_host().await;
    host.create_store("toko-sabar", 1090, json!({})).await;
    let token = bot_token(1090);
    let secret = host.webhook_secret(1090);
    host.telegram.fail_next(
        &token,
        "sendMessage",
        Failure::TooManyRequests { retry_after: 1 },
        1,
    );

    host.deliver("toko-sabar", Some(&secret), &text_update(1, 5010, "/start"))
        .await;

    let texts = host.wait_texts(1090, 5010, 1).await;
    assert!(texts[0].contains("Selamat datang"));
    assert_eq!(host.settled_texts(1090, 5010).await.len(), 1);
    let attempts = host.telegram.calls(&token, "sendMessage");
    assert_eq!(
        attempts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
}

#[tokio::test]
async fn a_customer_who_blocked_the_bot_is_marked_and_unmarked_when_they_return() {
    let mut host = spawn_host().await;
    host.create_store("toko-blokir", 1095, json!({})).await;
    let token = bot_token(1095);
    let secret = host.webhook_secret(1095);
    host.deliver(
        "toko-blokir",
        Some(&secret),
        &text_update(1, 5011, "/start"),
    )
    .await;
    host.wait_texts(1095, 5011, 1).await;

    host.telegram.block_chat(&token, 5011);
    host.deliver("toko-blokir", Some(&secret), &text_update(2, 5011, "/help"))
        .await;
    wait_blocked(&host, "toko-blokir", 5011, true).await;

    host.telegram.unblock_chat(&token, 5011);
    host.restart().await;
    host.deliver(
        "toko-blokir",
        Some(&secret),
        &text_update(3, 5011, "/start"),
    )
    .await;
    host.wait_texts(1095, 5011, 2).await;
    wait_blocked(&host, "toko-blokir", 5011, false).await;
}

async fn wait_blocked(host: &TestHost, slug: &str, user: i64, expected: bool) {
    let tenant: uuid::Uuid = sqlx::query_scalar("select id from tenants where slug = $1")
        .bind(slug)
        .fetch_one(host.db().registry())
        .await
        .unwrap();
    // Long enough for the bookkeeping flush (every 5 s), which records a customer's return.
    for _ in 0..400 {
        let mut tx = host
            .db()
            .tenant(tokobot::db::TenantId(tenant))
            .await
            .unwrap();
        // The customer's row may not be written yet: contacts are recorded in batches.
        let blocked: Option<bool> =
            sqlx::query_scalar("select blocked_bot from customers where telegram_user_id = $1")
                .bind(user)
                .fetch_optional(&mut *tx)
                .await
                .unwrap();
        if blocked == Some(expected) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("customer {user} of {slug} never became blocked = {expected}");
}
