//! Making bots: one shared HTTP client, one Bot API base URL, a bot per store token.

use std::sync::Arc;

use anyhow::Context;
use teloxide::{
    ApiError, RequestError,
    adaptors::CacheMe,
    prelude::*,
    types::{AllowedUpdate, Me, User, UserId},
};

use crate::{
    bot::StoreBot,
    host::pace::{Paced, Pacer},
    secret::Secret,
    tenants::model::Tenant,
};

/// What `bot_error` says of a store whose token Telegram refused.
pub const REJECTED_TOKEN: &str = "Telegram rejected the bot token";

/// The updates a store's bot asks Telegram for; `setWebhook` always sends them explicitly,
/// because omitting `allowed_updates` keeps whatever an earlier deployment registered.
pub const ALLOWED_UPDATES: [AllowedUpdate; 3] = [
    AllowedUpdate::Message,
    AllowedUpdate::CallbackQuery,
    AllowedUpdate::MyChatMember,
];

/// Builds every store's bot on one shared HTTP client (connection pool, TLS sessions).
#[derive(Clone, Debug)]
pub struct BotFactory {
    client: reqwest::Client,
    api_url: reqwest::Url,
}

/// Why a token check failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenCheckError {
    #[error("Telegram rejected the bot token")]
    Rejected,
    #[error("Telegram could not be reached: {0}")]
    Unavailable(#[source] RequestError),
}

impl BotFactory {
    pub fn new(client: reqwest::Client, api_url: &str) -> anyhow::Result<Self> {
        let api_url = reqwest::Url::parse(api_url).context("the Telegram API URL is not a URL")?;
        Ok(Self { client, api_url })
    }

    /// The shared HTTP client, for the other APIs the host calls (Pakasir).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A bot for one-off calls (checks, deleteWebhook) that need no rate limiting.
    pub fn bot(&self, token: &Secret) -> CacheMe<Bot> {
        Bot::with_client(token.expose(), self.client.clone())
            .set_api_url(self.api_url.clone())
            .cache_me()
    }

    /// The paced bot a running store sends with: its replies and its broadcast share one
    /// budget (`host::pace`). It holds no task, so an idle store costs only the budget.
    pub fn paced(&self, bot: CacheMe<Bot>) -> StoreBot {
        Paced::new(bot, Arc::new(Pacer::default()))
    }

    /// Asks Telegram who the token belongs to; the answer is cached in the returned bot.
    pub async fn check(&self, token: &Secret) -> Result<(CacheMe<Bot>, Me), TokenCheckError> {
        let bot = self.bot(token);
        match bot.get_me().await {
            Ok(me) => Ok((bot, me)),
            Err(error) if is_rejection(&error) => Err(TokenCheckError::Rejected),
            Err(error) => Err(TokenCheckError::Unavailable(error)),
        }
    }
}

/// The bot's identity as the registry keeps it, when it can stand for `token` without asking
/// Telegram: recorded by a check that passed (no `bot_error` since), for the bot the token
/// itself names (its digits before `:`). A restart of a host with many stores then makes no
/// call per store; a token revoked meanwhile is noticed at its first use.
pub fn recorded_identity(tenant: &Tenant, token: &Secret) -> Option<Me> {
    if tenant.bot_error.is_some() {
        return None;
    }
    let id = tenant.bot_id?;
    let username = tenant.bot_username.clone()?;
    let (token_bot, _) = token.expose().split_once(':')?;
    if token_bot.parse::<i64>().ok()? != id {
        return None;
    }
    Some(Me {
        user: User {
            id: UserId(u64::try_from(id).ok()?),
            is_bot: true,
            // Handlers use the username only (commands addressed `/start@username`).
            first_name: username.clone(),
            last_name: None,
            username: Some(username),
            language_code: None,
            is_premium: false,
            added_to_attachment_menu: false,
        },
        can_join_groups: false,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
        can_connect_to_business: false,
        has_main_web_app: false,
    })
}

/// Whether `error`, or what caused it, is Telegram refusing the bot's token.
pub fn is_token_rejection(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<RequestError>())
        .any(is_rejection)
}

/// Whether Telegram refused the token itself, as opposed to failing to answer.
fn is_rejection(error: &RequestError) -> bool {
    match error {
        RequestError::Api(ApiError::InvalidToken) => true,
        RequestError::Api(ApiError::Unknown(description)) => description.contains("Unauthorized"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::recorded_identity;
    use crate::{
        db::TenantId,
        secret::Secret,
        tenants::model::{Tenant, TenantStatus},
    };

    fn tenant(bot_id: Option<i64>, username: Option<&str>, error: Option<&str>) -> Tenant {
        Tenant {
            id: TenantId(Uuid::nil()),
            slug: "toko".into(),
            display_name: "Toko".into(),
            status: TenantStatus::Active,
            bot_id,
            bot_username: username.map(str::to_owned),
            bot_error: error.map(str::to_owned),
            bot_error_since: None,
            webhook_url: None,
            branding: Default::default(),
            settings: Default::default(),
            locale: Default::default(),
            timezone: "Asia/Jakarta".into(),
            owner_telegram_id: 1,
            admin_telegram_ids: Vec::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_recorded_identity_stands_only_for_its_own_bot_checked_without_error() {
        let token = Secret::new("4242:AAHsecretsecretsecret".to_owned());
        let me = recorded_identity(&tenant(Some(4242), Some("toko_bot"), None), &token)
            .expect("recorded for this token's bot");
        assert_eq!((me.id.0, me.username()), (4242, "toko_bot"));

        let other_bot = Secret::new("777:AAHsecretsecretsecret".to_owned());
        let recorded = tenant(Some(4242), Some("toko_bot"), None);
        assert!(recorded_identity(&recorded, &other_bot).is_none());
        let refused = tenant(
            Some(4242),
            Some("toko_bot"),
            Some("Telegram rejected the bot token"),
        );
        assert!(recorded_identity(&refused, &token).is_none());
        assert!(recorded_identity(&tenant(None, Some("toko_bot"), None), &token).is_none());
        assert!(recorded_identity(&tenant(Some(4242), None, None), &token).is_none());
    }
}
