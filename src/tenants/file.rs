//! `tokobot tenants apply FILE`: stores described in a TOML file, created or updated
//! idempotently. The format is shown by `tenants.example` at the repository's root.
//!
//! Secrets need not be written into the file: any value may be `${NAME}`, read from the
//! environment when the file is applied.

use anyhow::{Context, bail};
use serde::Deserialize;

use super::{
    model::Profile,
    repo,
    service::{NewTenant, PakasirKeys, ProvisionError, Provisioner, SecretsUpdate, TenantPatch},
};
use crate::{crypto::Sealer, db::Db, store::audit::Actor};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    #[serde(rename = "tenant", default)]
    tenants: Vec<NewTenant>,
}

/// What applying did to one store.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    Unchanged,
}

/// Parses a tenants file, expanding `${NAME}` from `env`.
pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Vec<NewTenant>> {
    let expanded = expand(text, env)?;
    let file: TenantsFile = toml::from_str(&expanded).context("the tenants file is not valid")?;
    Ok(file.tenants)
}

fn expand(text: &str, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .context("a `${` in the tenants file is not closed")?;
        let name = &after[..end];
        let Some(value) = env(name) else {
            bail!("the tenants file uses ${{{name}}}, which is not set")
        };
        // Values land inside TOML strings; escape what would end or break the string.
        out.push_str(&value.replace('\\', "\\\\").replace('"', "\\\""));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Creates the stores that do not exist and brings the others in line with the file.
pub async fn apply(
    provisioner: &Provisioner,
    db: &Db,
    sealer: &Sealer,
    entry: NewTenant,
) -> Result<Applied, ProvisionError> {
    let slug = entry.slug.clone();
    let Ok(current) = provisioner.existing(&slug).await else {
        provisioner.create(entry).await?;
        return Ok(Applied::Created);
    };
    let wanted = Profile {
        display_name: entry.display_name.trim().to_owned(),
        branding: entry.branding.clone(),
        settings: entry.settings.clone(),
        locale: entry.locale,
        timezone: entry.timezone.clone(),
        owner_telegram_id: entry.owner_telegram_id,
        admin_telegram_ids: entry.admin_telegram_ids.clone(),
    };
    let mut changed = false;
    let same_profile = current.display_name == wanted.display_name
        && current.branding == wanted.branding
        && current.settings == wanted.settings
        && current.locale == wanted.locale
        && current.timezone == wanted.timezone
        && current.owner_telegram_id == wanted.owner_telegram_id
        && current.admin_telegram_ids == wanted.admin_telegram_ids;
    if !same_profile {
        let patch = TenantPatch {
            display_name: Some(wanted.display_name),
            // The file describes the whole branding: fields it leaves out are cleared.
            branding: Some(full_branding(wanted.branding)),
            settings: Some(wanted.settings.into()),
            locale: Some(wanted.locale),
            timezone: Some(wanted.timezone),
            owner_telegram_id: Some(wanted.owner_telegram_id),
            admin_telegram_ids: Some(wanted.admin_telegram_ids),
        };
        provisioner.update(&slug, patch, true, &Actor::Host).await?;
        changed = true;
    }
    let stored = repo::secrets(db.registry(), sealer, current.id).await?;
    let mut update = SecretsUpdate::default();
    if stored.bot_token != entry.bot_token {
        update.bot_token = Some(entry.bot_token);
    }
    if stored.pakasir_project != entry.pakasir.project
        || stored.pakasir_api_key != entry.pakasir.api_key
    {
        update.pakasir = Some(PakasirKeys {
            project: entry.pakasir.project,
            api_key: entry.pakasir.api_key,
        });
    }
    if update.bot_token.is_some() || update.pakasir.is_some() {
        provisioner
            .rotate_secrets(&slug, update, &Actor::Host)
            .await?;
        changed = true;
    }
    Ok(if changed {
        Applied::Updated
    } else {
        Applied::Unchanged
    })
}

/// A branding patch that sets every field: absent ones become empty strings, which clear.
fn full_branding(b: crate::tenants::model::Branding) -> crate::tenants::model::Branding {
    let or_clear = |v: Option<String>| Some(v.unwrap_or_default());
    crate::tenants::model::Branding {
        welcome_text: or_clear(b.welcome_text),
        description: or_clear(b.description),
        emoji: or_clear(b.emoji),
        footer: or_clear(b.footer),
        support_contact: or_clear(b.support_contact),
        logo_file_id: or_clear(b.logo_file_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses() {
        let text = include_str!("../../tenants.example");
        let tenants = parse(text, |_| {
            Some("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw".into())
        })
        .unwrap();
        assert_eq!(tenants.len(), 2);
        assert_eq!(tenants[0].slug, "toko-budi");
        assert_eq!(
            tenants[0].bot_token.expose(),
            "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
        );
    }

    #[test]
    fn missing_variables_and_unknown_fields_are_errors() {
        assert!(expand("x = \"${NOPE}\"", |_| None).is_err());
        assert!(parse("[[tenant]]\nslug = \"abc\"\ncolour = \"red\"", |_| None).is_err());
    }

    #[test]
    fn expanded_values_cannot_break_out_of_their_string() {
        let out = expand("token = \"${T}\"", |_| Some("a\"b".into())).unwrap();
        assert_eq!(out, "token = \"a\\\"b\"");
    }
}
