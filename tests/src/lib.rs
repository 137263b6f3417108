//! The end-to-end test harness: the real router over a fresh database per test, SQLite or
//! PostgreSQL, driven with HTTP requests through `tower::ServiceExt::oneshot`.
//!
//! PostgreSQL tests use `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! and a new schema per test. Skip them with `cargo test -- --skip postgres`.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use flowline::{AppState, db, router};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tower::ServiceExt;

/// GraphQL over WebSocket (`graphql-transport-ws`) as a client speaks it.
pub mod ws {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    pub type Socket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    /// Opens `/graphql/system` at `addr` and sends `connection_init` with `init`.
    pub async fn connect(addr: std::net::SocketAddr, init: Value) -> Socket {
        let mut request = format!("ws://{addr}/graphql/system")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        socket
            .send(Message::text(
                json!({"type": "connection_init", "payload": init}).to_string(),
            ))
            .await
            .expect("init");
        socket
    }

    /// The next text message, as JSON; at most 10 s away.
    pub async fn next_json(socket: &mut Socket) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .expect("a message within 10 s")
                .expect("stream open")
                .expect("message");
            if let Message::Text(text) = msg {
                return serde_json::from_str(&text).expect("JSON message");
            }
        }
    }
}

/// The admin's static token in every test database.
pub const ADMIN_TOKEN: &str = "test-admin-token";

pub struct TestApp {
    /// The database URL the app was started on (a PostgreSQL URL names its schema).
    pub url: String,
    pub router: Router,
    pub db: DatabaseConnection,
    pub state: AppState,
    pub _dir: Option<tempfile::TempDir>,
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.text))
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn postgres_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// The engine settings of tests: loopback is reachable, so tests can run their own servers.
pub fn test_engine() -> engine::EngineConfig {
    engine::EngineConfig {
        deny_list: engine::DenyList::parse("169.254.169.254").expect("deny list"),
        ..engine::EngineConfig::default()
    }
}

static CLEANED: AtomicBool = AtomicBool::new(false);

/// A URL of a new, empty PostgreSQL schema at [`postgres_url`]; schemas left by earlier
/// runs are dropped on the first call.
pub async fn fresh_postgres_schema() -> String {
    let url = postgres_url();
    let admin = sea_orm::Database::connect(&url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable at {url} ({e}); set TEST_DATABASE_URL or run with `-- --skip postgres`")
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if !CLEANED.swap(true, Ordering::SeqCst) {
        // Schemas left by earlier runs; ones younger than an hour may belong to a test
        // binary running right now, so they stay.
        let rows = admin
            .query_all_raw(Statement::from_string(
                admin.get_database_backend(),
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'flowline_t_%'",
            ))
            .await
            .expect("list schemas");
        for row in rows {
            let name: String = row.try_get_by_index(0).expect("schema name");
            let born = name
                .trim_start_matches("flowline_t_")
                .split('_')
                .next()
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0);
            if now.saturating_sub(born) > 3600 {
                let _ = admin
                    .execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .await;
            }
        }
    }
    let schema = format!("flowline_t_{now}_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .expect("create schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(test_engine()).await
    }

    pub async fn postgres() -> Self {
        Self::postgres_with(test_engine()).await
    }

    pub async fn sqlite_with(engine: engine::EngineConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("flowline.db").display());
        Self::start(&url, Some(dir), engine).await
    }

    pub async fn postgres_with(engine: engine::EngineConfig) -> Self {
        let url = fresh_postgres_schema().await;
        Self::start(&url, None, engine).await
    }

    /// `n` replicas on one fresh PostgreSQL schema: several application instances sharing
    /// a database, as production runs them.
    pub async fn postgres_replicas(n: usize) -> Vec<Self> {
        Self::postgres_replicas_with(n, test_engine()).await
    }

    pub async fn postgres_replicas_with(n: usize, engine: engine::EngineConfig) -> Vec<Self> {
        let url = fresh_postgres_schema().await;
        let mut apps = Vec::with_capacity(n);
        for _ in 0..n {
            apps.push(Self::start(&url, None, engine.clone()).await);
        }
        apps
    }

    async fn start(
        url: &str,
        dir: Option<tempfile::TempDir>,
        engine: engine::EngineConfig,
    ) -> Self {
        let database = db::connect(url).await.expect("connect and migrate");
        db::ensure_admin(&database, "admin@example.com", Some(ADMIN_TOKEN))
            .await
            .expect("admin");
        let state = AppState::new(database.clone(), 1024 * 1024, engine)
            .await
            .expect("state");
        TestApp {
            url: url.to_string(),
            router: router(state.clone()),
            db: database,
            state,
            _dir: dir,
        }
    }

    /// Serves the router on an ephemeral loopback port (for WebSocket tests).
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let router = self.router.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        addr
    }

    /// Sends a request through the router with exactly these headers (none added), and
    /// reads the whole answer: the one way every test talks to the application.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("request");
        let res = self.router.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let headers = res.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            content_type,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Sends a request with these headers; a JSON content type is added when there is a
    /// body and no `content-type` among `headers`.
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut all = headers.to_vec();
        if body.is_some()
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            all.push(("content-type", "application/json"));
        }
        self.send_raw(method, path, &all, body.map(str::to_string))
            .await
    }

    /// Sends a request; `token` is sent as a bearer token when given, and a JSON content
    /// type when there is a body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> Reply {
        let bearer = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| ("authorization", b))
            .into_iter()
            .collect();
        self.send_with(method, path, body, &headers).await
    }

    /// Runs a GraphQL document on `/graphql/system` as the admin.
    pub async fn gql(&self, query: &str, variables: Value) -> Reply {
        let body = json!({"query": query, "variables": variables}).to_string();
        self.send("POST", "/graphql/system", Some(&body), Some(ADMIN_TOKEN))
            .await
    }

    /// Runs a GraphQL document that must succeed; answers its `data`.
    pub async fn gql_ok(&self, query: &str, variables: Value) -> Value {
        let reply = self.gql(query, variables).await;
        let body = reply.json();
        assert_eq!(reply.status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Creates a user with a static token; `admin` decides its role's admin access.
    pub async fn create_user(&self, email: &str, token: &str, admin: bool) -> String {
        let backend = self.db.get_database_backend();
        let role = uuid::Uuid::new_v4();
        let user = uuid::Uuid::new_v4();
        let id = |u: uuid::Uuid| domain::sql::uuid_value(backend, u);
        let pg = backend == sea_orm::DbBackend::Postgres;
        let p = |n: usize| if pg { format!("${n}") } else { "?".to_string() };
        self.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO directus_roles (id, name, admin_access, app_access) VALUES ({}, {}, {}, {})",
                    p(1), p(2), p(3), p(4)
                ),
                [id(role), "Role".into(), admin.into(), true.into()],
            ))
            .await
            .expect("role");
        self.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO directus_users (id, email, status, role, token) VALUES ({}, {}, {}, {}, {})",
                    p(1), p(2), p(3), p(4), p(5)
                ),
                [id(user), email.into(), "active".into(), id(role), token.into()],
            ))
            .await
            .expect("user");
        self.state
            .tokens
            .reload(&self.db)
            .await
            .expect("reload tokens");
        user.to_string()
    }

    /// Creates a role; answers its id.
    pub async fn create_role(&self, name: &str, admin: bool) -> String {
        let backend = self.db.get_database_backend();
        let role = uuid::Uuid::new_v4();
        let pg = backend == sea_orm::DbBackend::Postgres;
        let p = |n: usize| if pg { format!("${n}") } else { "?".to_string() };
        self.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO directus_roles (id, name, admin_access, app_access) VALUES ({}, {}, {}, {})",
                    p(1), p(2), p(3), p(4)
                ),
                [domain::sql::uuid_value(backend, role), name.into(), admin.into(), true.into()],
            ))
            .await
            .expect("role");
        role.to_string()
    }

    /// Creates a user of `role` with a static token; answers its id.
    pub async fn create_user_in(&self, email: &str, token: &str, role: &str) -> String {
        let backend = self.db.get_database_backend();
        let user = uuid::Uuid::new_v4();
        let role = uuid::Uuid::parse_str(role).expect("role id");
        let pg = backend == sea_orm::DbBackend::Postgres;
        let p = |n: usize| if pg { format!("${n}") } else { "?".to_string() };
        self.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO directus_users (id, email, status, role, token) VALUES ({}, {}, {}, {}, {})",
                    p(1), p(2), p(3), p(4), p(5)
                ),
                [
                    domain::sql::uuid_value(backend, user),
                    email.into(),
                    "active".into(),
                    domain::sql::uuid_value(backend, role),
                    token.into(),
                ],
            ))
            .await
            .expect("user");
        self.state
            .tokens
            .reload(&self.db)
            .await
            .expect("reload tokens");
        user.to_string()
    }

    /// Runs SQL written for this test's database: `sqlite` or `postgres`.
    pub async fn exec(&self, sqlite: &str, postgres: &str) {
        let sql = match self.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => postgres,
            _ => sqlite,
        };
        self.db.execute_unprepared(sql).await.expect("sql");
    }

    /// Creates the user table `articles` with one column of each mapped type:
    /// `id` (auto-increment), `title` (varchar 80, required), `body` (text), `price`
    /// (decimal), `rating` (float), `views` (integer, default 0), `published` (boolean),
    /// `meta` (json), `published_at` (timestamp with zone), `ref` (uuid).
    pub async fn articles_table(&self) {
        self.exec(
            "CREATE TABLE articles (id INTEGER PRIMARY KEY, title VARCHAR(80) NOT NULL, body TEXT, \
             price NUMERIC(10,2), rating REAL, views INTEGER NOT NULL DEFAULT 0, published BOOLEAN, \
             meta JSON, published_at TIMESTAMPTZ, ref UUID)",
            "CREATE TABLE articles (id SERIAL PRIMARY KEY, title VARCHAR(80) NOT NULL, body TEXT, \
             price NUMERIC(10,2), rating DOUBLE PRECISION, views INTEGER NOT NULL DEFAULT 0, published BOOLEAN, \
             meta JSONB, published_at TIMESTAMPTZ, ref UUID)",
        )
        .await;
    }

    /// Sends a request and checks its exact status and JSON body.
    #[allow(clippy::too_many_arguments)]
    pub async fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        status: u16,
        want: Value,
    ) {
        let text = body.map(|b| b.to_string());
        let reply = self.send(method, path, text.as_deref(), token).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path} as {token:?}: {}",
            reply.text
        );
        assert_eq!(reply.json(), want, "{method} {path} as {token:?}");
    }

    /// Sends a request that must answer 204 with an empty body.
    pub async fn expect_empty(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) {
        let text = body.map(|b| b.to_string());
        let reply = self.send(method, path, text.as_deref(), token).await;
        assert_eq!(
            reply.status.as_u16(),
            204,
            "{method} {path} as {token:?}: {}",
            reply.text
        );
        assert_eq!(reply.text, "", "{method} {path}");
    }

    /// The logged `$trigger` of every run of a flow, oldest first (flows with
    /// `accountability: "all"`).
    pub async fn logged_triggers(&self, flow: &str) -> Vec<Value> {
        let backend = self.db.get_database_backend();
        let sql = format!(
            "SELECT r.data FROM directus_revisions r JOIN directus_activity a ON a.id = r.activity \
             WHERE a.action = 'run' AND a.item = '{flow}' ORDER BY a.id"
        );
        let rows = self
            .db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .expect("revisions");
        rows.iter()
            .map(|row| {
                let data: Value = row
                    .try_get_by_index::<Value>(0)
                    .or_else(|_| {
                        row.try_get_by_index::<String>(0)
                            .map(|s| serde_json::from_str(&s).expect("json"))
                    })
                    .expect("data");
                data["data"]["$trigger"].clone()
            })
            .collect()
    }

    /// Counts the rows of a table, to show that a failed request wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get_by_index::<i64>(0).expect("count value")
    }
}

/// Defines one test per database from one body: `both!(name, |app| async move { ... });`
/// gives `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both {
    ($name:ident, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::TestApp::sqlite().await;
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $app = $crate::TestApp::postgres().await;
                $body.await
            }
        }
    };
}
