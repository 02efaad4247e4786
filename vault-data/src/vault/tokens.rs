//! Token issuers and token trust: signing keys of issuing services (made, rotated with the next
//! key published before it signs, listed), their JWKS, issuers imported from a JWKS, who gets
//! and who accepts tokens of an issuer for an audience, and minting a development token.

use std::ops::{Deref, DerefMut};

use rand::RngCore;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::{self, NameKind};
use crate::model::token::{ExternalIssuer, ExternalKey, GrantSide, IssuerRef, KeyRole, TokenAlg, TokenGrant, TokenKey};
use crate::model::{KeyType, ObjectRecord};
use crate::token::{jwk, jwks, mint};
use crate::vault::index::Index;
use crate::vault::Vault;

/// The longest a minted token may live.
pub const MAX_MINT_TTL: Duration = Duration::minutes(15);
/// Words that make an environment production (`prod`, `prod-eu`, `production_us`, `live`):
/// issuers there mint only with an explicit override.
const PRODUCTION: [&str; 4] = ["prod", "production", "prd", "live"];

/// Whether `environment` is production by its name (any `-`/`_`/`.` separated part).
fn is_production(environment: &str) -> bool {
    environment.to_ascii_lowercase().split(['-', '_', '.']).any(|part| PRODUCTION.contains(&part))
}

/// A token signing key as front ends show it (public parts only).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenKeyView {
    /// The issuing service.
    pub service: String,
    /// Algorithm.
    pub alg: TokenAlg,
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// Next, current or previous.
    pub role: KeyRole,
    /// When made (RFC 3339).
    pub created: String,
    /// Days since it took its role.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub days_in_role: i64,
}

/// An issuer: a service whose keys Keyloom holds, or one imported from its JWKS.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IssuerView {
    /// Its name (the service's, or the imported issuer's).
    pub name: String,
    /// `service` or `external`.
    pub kind: &'static str,
    /// The `iss` it signs as.
    pub issuer_url: Option<String>,
    /// Its environment, when known.
    pub environment: Option<String>,
    /// Key ids published.
    pub kids: Vec<String>,
    /// Why keys are weak, for imported issuers.
    pub weaknesses: Vec<String>,
}

/// A grant as listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GrantView {
    /// The service.
    pub service: String,
    /// Gets or accepts.
    pub side: GrantSide,
    /// The issuer's name.
    pub issuer: String,
    /// The audience.
    pub audience: String,
    /// Scopes.
    pub scopes: Vec<String>,
}

/// A minted token. The token is a secret: shown because it was asked for, never logged.
#[derive(Clone, Serialize)]
pub struct MintedToken {
    /// The compact JWS.
    pub token: String,
    /// The key that signed it.
    pub kid: String,
    /// Its expiry (Unix seconds).
    pub exp: i64,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken").field("kid", &self.kid).field("exp", &self.exp).finish_non_exhaustive()
    }
}

/// What [`Tokens::mint`] is asked for.
pub struct MintRequest<'a> {
    /// The issuing service.
    pub issuer: &'a str,
    /// `aud`.
    pub audience: &'a str,
    /// `sub`.
    pub subject: &'a str,
    /// Lifetime (at most [`MAX_MINT_TTL`]).
    pub ttl: Duration,
    /// Scopes.
    pub scopes: &'a [String],
    /// Allow an issuer in a production environment.
    pub allow_prod: bool,
}

fn key_type(alg: TokenAlg) -> KeyType {
    match alg {
        TokenAlg::ES256 => KeyType::EcdsaP256,
        TokenAlg::EdDSA => KeyType::Ed25519,
        TokenAlg::RS256 => KeyType::Rsa2048,
    }
}

/// Parses a JOSE algorithm name.
pub fn parse_alg(name: &str) -> Result<TokenAlg> {
    TokenAlg::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(name)).ok_or_else(|| {
        Error::unknown_choice(
            crate::error::Choice::TokenAlgorithm,
            name,
            TokenAlg::ALL.iter().map(|a| a.name().to_string()),
        )
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn key_view(index: &Index, k: &TokenKey, now: OffsetDateTime) -> TokenKeyView {
    TokenKeyView {
        service: index.service_name(k.service),
        alg: k.alg,
        kid: k.kid.clone(),
        role: k.role,
        created: rfc3339(k.created),
        days_in_role: (now - k.since).whole_days(),
    }
}

impl Index {
    /// The issuer named `name`: a service with token keys, or an imported issuer.
    pub(crate) fn issuer_named(&self, name: &str) -> Result<IssuerRef> {
        if let Some(ext) = self.issuers.values().find(|i| names::folded(&i.name) == names::folded(name)) {
            return Ok(IssuerRef::External(ext.id));
        }
        match self.service_named(name) {
            Ok(svc) if self.token_keys.values().any(|k| k.service == svc.id) => Ok(IssuerRef::Service(svc.id)),
            Ok(svc) => Err(Error::Invalid(format!(
                "service {} has no token keys; make them first (token-key create)",
                names::shown(&svc.name)
            ))),
            Err(_) => {
                let mut known: Vec<String> = self.issuers.values().map(|i| i.name.clone()).collect();
                let mut services: Vec<RecordId> = self.token_keys.values().map(|k| k.service).collect();
                services.dedup();
                known.extend(services.into_iter().map(|s| self.service_name(s)));
                Err(Error::Invalid(format!(
                    "no issuer {}: known issuers are {}",
                    names::shown(name),
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )))
            }
        }
    }
}

feature_handle!(
    /// Token issuers, their keys and JWKS, token trust, and development tokens.
    Tokens, tokens, tokens_mut
);

impl<V: Deref<Target = Vault>> Tokens<V> {
    /// The token keys of `service` (every issuing service when `None`).
    pub fn keys(&self, service: Option<&str>) -> Result<Vec<TokenKeyView>> {
        let index = &self.vault.unlocked()?.index;
        let now = OffsetDateTime::now_utc();
        let mut services: Vec<RecordId> = match service {
            Some(s) => vec![index.service_named(s)?.id],
            None => index.token_keys.values().map(|k| k.service).collect(),
        };
        services.sort_by_key(|s| index.service_name(*s));
        services.dedup();
        Ok(services.into_iter().flat_map(|s| index.token_keys_of(s)).map(|k| key_view(index, k, now)).collect())
    }

    /// The JWKS of `issuer`: an issuing service's current, next and previous public keys, or an
    /// imported issuer's keys.
    pub fn jwks(&self, issuer: &str) -> Result<serde_json::Value> {
        let index = &self.vault.unlocked()?.index;
        Ok(jwks_of(index, index.issuer_named(issuer)?))
    }

    /// Every issuer, by name.
    pub fn issuers(&self) -> Result<Vec<IssuerView>> {
        let index = &self.vault.unlocked()?.index;
        let mut services: Vec<RecordId> = index.token_keys.values().map(|k| k.service).collect();
        services.sort();
        services.dedup();
        let mut out: Vec<IssuerView> = services
            .into_iter()
            .filter_map(|s| index.services.get(&s))
            .map(|svc| IssuerView {
                name: svc.name.clone(),
                kind: "service",
                issuer_url: Some(svc.name.clone()),
                environment: Some(svc.environment.clone()),
                kids: index.token_keys_of(svc.id).iter().map(|k| k.kid.clone()).collect(),
                weaknesses: Vec::new(),
            })
            .collect();
        out.extend(index.issuers.values().map(|i| IssuerView {
            name: i.name.clone(),
            kind: "external",
            issuer_url: i.issuer_url.clone(),
            environment: i.environment.clone(),
            kids: i.keys.iter().map(|k| k.kid.clone()).collect(),
            weaknesses: i.keys.iter().filter_map(jwks::weakness).collect(),
        }));
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Grants of `service` (every service when `None`).
    pub fn grants(&self, service: Option<&str>) -> Result<Vec<GrantView>> {
        let index = &self.vault.unlocked()?.index;
        let only = service.map(|s| index.service_named(s).map(|s| s.id)).transpose()?;
        let mut out: Vec<GrantView> = index
            .grants
            .values()
            .filter(|g| only.is_none_or(|s| g.service == s))
            .map(|g| grant_view(index, g))
            .collect();
        out.sort_by(|a, b| (&a.service, &a.issuer, &a.audience).cmp(&(&b.service, &b.issuer, &b.audience)));
        Ok(out)
    }

    /// Makes `service` a token issuer: a current key of `alg` and the next one, published
    /// together so verifiers hold the next key before it signs.
    pub fn create_key(&mut self, service: &str, alg: TokenAlg) -> Result<Vec<TokenKeyView>>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?.clone();
        if index.token_keys.values().any(|k| k.service == svc.id) {
            return Err(Error::Invalid(format!(
                "{} already has token keys; rotate them (token-key rotate)",
                names::shown(&svc.name)
            )));
        }
        let now = OffsetDateTime::now_utc();
        let mut ops = Vec::new();
        let mut made = Vec::new();
        for role in [KeyRole::Current, KeyRole::Next] {
            let (key, pkcs8) = new_key(svc.id, alg, role, now)?;
            ops.push(self.vault.seal_payload(key.key_payload, &pkcs8)?);
            ops.push(self.vault.seal_object(key.id, &ObjectRecord::TokenKey(key.clone()))?);
            made.push(key);
        }
        let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
        let event = AuditEvent::success("token.key.create", vec![obj]).with_detail(format!(
            "{}: current {}, next {}",
            alg.name(),
            made[0].kid,
            made[1].kid
        ));
        self.vault.commit(ops, vec![event])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.token_keys.extend(made.into_iter().map(|k| (k.id, k)));
        self.keys(Some(&svc.name))
    }

    /// Rotates `service`'s token keys: the next key (already published) starts signing, the
    /// current one stays published as previous for tokens it signed, a new next key is made, and
    /// an older previous key is dropped.
    pub fn rotate(&mut self, service: &str) -> Result<Vec<TokenKeyView>>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?.clone();
        let keys: Vec<TokenKey> = index.token_keys_of(svc.id).into_iter().cloned().collect();
        let (Some(current), Some(next)) = (
            keys.iter().find(|k| k.role == KeyRole::Current).cloned(),
            keys.iter().find(|k| k.role == KeyRole::Next).cloned(),
        ) else {
            return Err(Error::Invalid(format!(
                "{} has no token keys to rotate (token-key create)",
                names::shown(&svc.name)
            )));
        };
        let now = OffsetDateTime::now_utc();
        let mut ops = Vec::new();
        let dropped: Vec<TokenKey> = keys.iter().filter(|k| k.role == KeyRole::Previous).cloned().collect();
        for k in &dropped {
            ops.push(Vault::delete_object(k.id));
            ops.push(Vault::delete_payload(k.key_payload));
        }
        let previous = TokenKey { role: KeyRole::Previous, since: now, ..current };
        let promoted = TokenKey { role: KeyRole::Current, since: now, ..next };
        let (fresh, pkcs8) = new_key(svc.id, promoted.alg, KeyRole::Next, now)?;
        ops.push(self.vault.seal_object(previous.id, &ObjectRecord::TokenKey(previous.clone()))?);
        ops.push(self.vault.seal_object(promoted.id, &ObjectRecord::TokenKey(promoted.clone()))?);
        ops.push(self.vault.seal_payload(fresh.key_payload, &pkcs8)?);
        ops.push(self.vault.seal_object(fresh.id, &ObjectRecord::TokenKey(fresh.clone()))?);
        let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
        let event = AuditEvent::success("token.key.rotate", vec![obj])
            .with_detail(format!("current {}, next {}, previous {}", promoted.kid, fresh.kid, previous.kid));
        self.vault.commit(ops, vec![event])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        for k in dropped {
            index.token_keys.remove(&k.id);
        }
        for k in [previous, promoted, fresh] {
            index.token_keys.insert(k.id, k);
        }
        self.keys(Some(&svc.name))
    }

    /// Records (or, for a name already imported, replaces the keys of) an issuer from its JWKS.
    /// Only public parts are kept; a JWKS carrying private members is refused.
    pub fn import_issuer(
        &mut self,
        name: &str,
        jwks_bytes: &[u8],
        origin: &str,
        issuer_url: Option<&str>,
        environment: Option<&str>,
    ) -> Result<IssuerView>
    where
        V: DerefMut<Target = Vault>,
    {
        names::check(NameKind::Service, name)?;
        if let Some(env) = environment {
            names::check(NameKind::Environment, env)?;
        }
        let (keys, had_private) = jwks::parse(jwks_bytes, origin).map_err(Error::Token)?;
        if had_private {
            return Err(Error::Invalid(format!(
                "{origin} holds private key material: a JWKS to import has public keys only (the private parts were not kept)"
            )));
        }
        let index = &self.vault.unlocked()?.index;
        if let Some(s) = index.service_name_taken(name, None) {
            return Err(Error::Exists {
                kind: "service (issuer names and service names are one namespace)",
                name: s.name.clone(),
            });
        }
        let existing = index.issuers.values().find(|i| names::folded(&i.name) == names::folded(name)).cloned();
        let issuer = ExternalIssuer {
            id: existing.as_ref().map_or_else(RecordId::random, |i| i.id),
            name: existing.as_ref().map_or_else(|| name.to_string(), |i| i.name.clone()),
            issuer_url: issuer_url.map(str::to_string).or_else(|| existing.as_ref().and_then(|i| i.issuer_url.clone())),
            environment: environment
                .map(str::to_string)
                .or_else(|| existing.as_ref().and_then(|i| i.environment.clone())),
            keys,
            imported: OffsetDateTime::now_utc(),
        };
        let op = self.vault.seal_object(issuer.id, &ObjectRecord::ExternalIssuer(issuer.clone()))?;
        let obj = AuditObject::new("issuer", Some(issuer.id), issuer.name.clone());
        let event = AuditEvent::success("token.issuer.import", vec![obj])
            .with_detail(format!("{} key(s) from {origin}", issuer.keys.len()));
        self.vault.commit(vec![op], vec![event])?;
        self.vault.unlocked_mut()?.index.issuers.insert(issuer.id, issuer.clone());
        self.issuers()?
            .into_iter()
            .find(|i| i.name == issuer.name)
            .ok_or_else(|| Error::Storage("the issuer was not stored".into()))
    }

    /// Records that `service` gets (client) or accepts tokens of `issuer` for `audience`.
    pub fn grant(
        &mut self,
        service: &str,
        side: GrantSide,
        issuer: &str,
        audience: &str,
        scopes: &[String],
    ) -> Result<GrantView>
    where
        V: DerefMut<Target = Vault>,
    {
        let audience = audience.trim();
        if audience.is_empty() || audience.chars().any(char::is_control) || audience.len() > 256 {
            return Err(Error::Invalid(format!("{audience:?} is not an audience: 1 to 256 printable characters")));
        }
        for s in scopes {
            if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::Invalid(format!("{s:?} is not a scope: no spaces")));
            }
        }
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?.clone();
        let issuer = index.issuer_named(issuer)?;
        if index
            .grants
            .values()
            .any(|g| g.service == svc.id && g.side == side && g.issuer == issuer && g.audience == audience)
        {
            return Err(Error::Exists {
                kind: "token grant",
                name: format!("{} {} {audience}", svc.name, index.issuer_name(issuer)),
            });
        }
        let g = TokenGrant {
            id: RecordId::random(),
            service: svc.id,
            side,
            issuer,
            audience: audience.to_string(),
            scopes: scopes.to_vec(),
            created: OffsetDateTime::now_utc(),
        };
        let op = self.vault.seal_object(g.id, &ObjectRecord::TokenGrant(g.clone()))?;
        let view = grant_view(index, &g);
        let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
        let what = if side == GrantSide::Client { "gets" } else { "accepts" };
        let event = AuditEvent::success("token.grant.add", vec![obj])
            .with_detail(format!("{what} tokens of {} for audience {audience}", view.issuer));
        self.vault.commit(vec![op], vec![event])?;
        self.vault.unlocked_mut()?.index.grants.insert(g.id, g);
        Ok(view)
    }

    /// Removes a grant.
    pub fn ungrant(&mut self, service: &str, side: GrantSide, issuer: &str, audience: &str) -> Result<GrantView>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?.clone();
        let issuer = index.issuer_named(issuer)?;
        let g = index
            .grants
            .values()
            .find(|g| g.service == svc.id && g.side == side && g.issuer == issuer && g.audience == audience)
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("{} has no such token grant", names::shown(&svc.name))))?;
        let view = grant_view(index, &g);
        let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
        let event =
            AuditEvent::success("token.grant.remove", vec![obj]).with_detail(format!("{} {audience}", view.issuer));
        self.vault.commit(vec![Vault::delete_object(g.id)], vec![event])?;
        self.vault.unlocked_mut()?.index.grants.remove(&g.id);
        Ok(view)
    }

    /// Mints a token for development and tests with the issuer's current key: audited (never
    /// the token), lifetime capped at [`MAX_MINT_TTL`], refused for an issuer in a production
    /// environment unless `allow_prod`.
    pub fn mint(&mut self, req: &MintRequest<'_>) -> Result<MintedToken>
    where
        V: DerefMut<Target = Vault>,
    {
        Error::check_range(
            crate::error::Quantity::TokenTtlSeconds,
            u64::try_from(req.ttl.whole_seconds()).unwrap_or(0),
            1..=u64::try_from(MAX_MINT_TTL.whole_seconds()).unwrap_or(900),
        )?;
        for (what, v) in [("audience", req.audience), ("subject", req.subject)] {
            if v.trim().is_empty() || v.chars().any(char::is_control) {
                return Err(Error::Invalid(format!("the {what} {v:?} is empty or has control characters")));
            }
        }
        let index = &self.vault.unlocked()?.index;
        let IssuerRef::Service(sid) = index.issuer_named(req.issuer)? else {
            return Err(Error::Invalid(format!(
                "{} is an imported issuer: Keyloom holds no key of it to mint with",
                names::shown(req.issuer)
            )));
        };
        let svc =
            index.services.get(&sid).cloned().ok_or_else(|| Error::Integrity("a token key names no service".into()))?;
        if is_production(&svc.environment) && !req.allow_prod {
            return Err(Error::NeedsForce {
                refusal: format!(
                    "{} is in environment {:?}: tokens it mints work in production",
                    svc.name, svc.environment
                ),
                anyway: "minting anyway is allowed explicitly for production issuers".into(),
            });
        }
        let key = index
            .token_keys_of(sid)
            .into_iter()
            .find(|k| k.role == KeyRole::Current)
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("{} has no current token key", names::shown(&svc.name))))?;
        let pkcs8 = self.vault.open_payload(key.key_payload)?;
        let now = OffsetDateTime::now_utc();
        let mut jti = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut jti);
        let claims = mint::Claims {
            iss: svc.name.clone(),
            sub: req.subject.to_string(),
            aud: req.audience.to_string(),
            iat: now.unix_timestamp(),
            nbf: now.unix_timestamp(),
            exp: (now + req.ttl).unix_timestamp(),
            jti: hex::encode(jti),
            scope: (!req.scopes.is_empty()).then(|| req.scopes.join(" ")),
        };
        let token = mint::sign(key.alg, &pkcs8, &key.kid, &claims).map_err(Error::Token)?;
        let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
        let event = AuditEvent::success("token.mint", vec![obj])
            .with_detail(format!("aud {}, sub {}, kid {}, expires {}", claims.aud, claims.sub, key.kid, claims.exp));
        self.vault.commit(vec![], vec![event])?;
        Ok(MintedToken { token, kid: key.kid, exp: claims.exp })
    }
}

fn grant_view(index: &Index, g: &TokenGrant) -> GrantView {
    GrantView {
        service: index.service_name(g.service),
        side: g.side,
        issuer: index.issuer_name(g.issuer),
        audience: g.audience.clone(),
        scopes: g.scopes.clone(),
    }
}

/// The JWKS document of an issuer.
pub(crate) fn jwks_of(index: &Index, issuer: IssuerRef) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = match issuer {
        IssuerRef::Service(s) => {
            index.token_keys_of(s).iter().filter_map(|k| serde_json::from_str(&k.public_jwk).ok()).collect()
        }
        IssuerRef::External(id) => index
            .issuers
            .get(&id)
            .map(|i| i.keys.iter().filter_map(|k: &ExternalKey| serde_json::from_str(&k.jwk).ok()).collect())
            .unwrap_or_default(),
    };
    serde_json::json!({ "keys": keys })
}

/// A new token key of `alg` for `service` in `role`, with its PKCS#8 (v1) private key.
fn new_key(
    service: RecordId,
    alg: TokenAlg,
    role: KeyRole,
    now: OffsetDateTime,
) -> Result<(TokenKey, zeroize::Zeroizing<Vec<u8>>)> {
    let kp = key_type(alg).generate()?;
    let pkcs8 = crate::pki::key_type::pkcs8_v1(&kp.serialize_der())?;
    let (public, kid) = jwk::public_jwk(alg, kp.public_key_raw()).map_err(Error::Token)?;
    let public_jwk = serde_json::to_string(&public).map_err(|e| Error::Storage(format!("cannot encode a JWK: {e}")))?;
    Ok((
        TokenKey {
            id: RecordId::random(),
            service,
            alg,
            kid,
            public_jwk,
            key_payload: RecordId::random(),
            role,
            created: now,
            since: now,
        },
        pkcs8,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn production_is_recognised_by_any_part_of_the_environment_name() {
        for env in ["prod", "PROD", "prod-eu", "production_us", "eu.prd", "live"] {
            assert!(super::is_production(env), "{env}");
        }
        for env in ["dev", "staging", "product-demo", "preprod", "qa"] {
            assert!(!super::is_production(env), "{env}");
        }
    }
}
