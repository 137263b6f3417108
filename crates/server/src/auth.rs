//! Who is calling: static tokens from `Authorization: Bearer` or `?access_token=`,
//! compared in constant time against the users that have one.

use std::sync::Arc;

use axum::http::HeaderMap;
use domain::Accountability;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

/// Tokens longer than this are refused without looking further.
pub const MAX_TOKEN_LEN: usize = 512;

#[derive(Clone)]
struct TokenUser {
    token: Vec<u8>,
    accountability: Accountability,
}

/// The static tokens of active users, kept in memory so that a request costs no query and
/// every comparison takes the same time whichever token matches.
#[derive(Clone, Default)]
pub struct TokenStore {
    users: Arc<RwLock<Vec<TokenUser>>>,
}

impl TokenStore {
    /// Reloads the tokens; call after users change.
    pub async fn reload(&self, db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
        let backend = db.get_database_backend();
        let sql = "SELECT u.id, u.role, u.token, r.admin_access, r.app_access \
                   FROM directus_users u LEFT JOIN directus_roles r ON r.id = u.role \
                   WHERE u.token IS NOT NULL AND u.status = 'active'";
        let rows = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await?;
        let mut users = Vec::with_capacity(rows.len());
        let uuid_text = |row: &sea_orm::QueryResult, idx: usize| -> Option<String> {
            domain::sql::decode(
                backend,
                row,
                idx,
                domain::sql::Decode::Field(domain::catalog::FieldKind::Uuid),
            )
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
        };
        for row in &rows {
            let token: String = row.try_get_by_index(2)?;
            let role = uuid_text(row, 1);
            let admin = row.try_get_by_index::<Option<bool>>(3)?.unwrap_or(false);
            let app = row.try_get_by_index::<Option<bool>>(4)?.unwrap_or(false);
            users.push(TokenUser {
                token: token.into_bytes(),
                accountability: Accountability {
                    user: uuid_text(row, 0),
                    roles: role.iter().cloned().collect(),
                    role,
                    admin,
                    app,
                    ..Accountability::default()
                },
            });
        }
        *self.users.write().await = users;
        Ok(())
    }

    /// Reloads the tokens whenever users or roles change, through this process or another
    /// replica, and when changes may have been missed.
    pub fn follow(&self, items: &domain::ItemsService) {
        let store = self.clone();
        let db = items.db().clone();
        let mut changes = items.subscribe();
        tokio::spawn(async move {
            loop {
                let reload = match changes.recv().await {
                    Ok(domain::Change::Mutation(m)) => {
                        matches!(m.collection.as_str(), "directus_users" | "directus_roles")
                    }
                    Ok(domain::Change::Missed) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if reload && let Err(err) = store.reload(&db).await {
                    tracing::error!(%err, "reloading static tokens failed; the previous ones stay");
                }
            }
        });
    }

    /// The caller a token names, or `None` for an unknown token.
    pub async fn lookup(&self, token: &str) -> Option<Accountability> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let users = self.users.read().await;
        let mut found = None;
        for user in users.iter() {
            // No early exit: every stored token is compared.
            if bool::from(user.token.as_slice().ct_eq(token.as_bytes())) {
                found = Some(user.accountability.clone());
            }
        }
        found
    }
}

/// The token a request carries, from the header first, then the query string.
pub fn request_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION)
        && let Ok(text) = value.to_str()
        && let Some((scheme, token)) = text.split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some(token.trim().to_string());
    }
    let query = query?;
    url_query_value(query, "access_token")
}

/// One value of a URL query string, percent-decoded.
pub fn url_query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Resolves a request's caller: anonymous without a token, an error for a bad one.
pub async fn accountability(
    store: &TokenStore,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Accountability, domain::Error> {
    match request_token(headers, query) {
        None => Ok(Accountability::public()),
        Some(token) => store
            .lookup(&token)
            .await
            .ok_or(domain::Error::InvalidCredentials),
    }
}
